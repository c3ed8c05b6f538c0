# Test-only base image (e2e/containers): Debian bookworm (a debootstrap rootfs imported as
# $ROOTFS) plus the host's Node 20 runtime, standing in for node:20-bookworm-slim where no
# public registry is reachable. The build context holds only `node` and `npm/` (see
# compose.test.ts). Like the official slim image: node, npm and npx on PATH, no
# ca-certificates, no tini, no build tools; unlike it, no `node` user (the project
# Dockerfile creates one when its base lacks it).
ARG ROOTFS=maas-test-rootfs:bookworm
FROM ${ROOTFS}
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
ENV LANG=C.UTF-8
CMD ["node"]
