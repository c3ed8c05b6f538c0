# One image for the inference cluster: the command decides what it runs.
#
#   DOCKER_BUILDKIT=1 docker build -t maas .
#   docker run maas                                   # HTTP API on :8080, gRPC on :8081 (default CMD)
#   docker run maas node --initial-old-space-size=128 apps/worker/dist/main.js   # a micro-batching ONNX worker
# The targets `api` (the default) and `worker` are that image with either command as default
# (`docker build --target worker -t maas-worker .`, as deploy/k8s uses them).
#
# It holds production node_modules only, the compiled dist/ of the API, the worker and
# @maas/shared, and the shipped models in /app/models (MODEL_REPOSITORY). Processes run as the
# non-root user `node` (uid 1000) under tini. docker-compose.yml wires the image to Redis.
#
# Needs BuildKit (`RUN --mount`): the default builder since Docker 23 and in `docker compose`
# v2; with Docker 20.10/22.10 set DOCKER_BUILDKIT=1, and with docker-compose v1 build with
# `docker build` first (README "Containers"). No `# syntax=` line on purpose: it would pull the
# Dockerfile frontend from Docker Hub, and the frontend built into BuildKit reads this file.
#
# Build arguments:
#   BASE_IMAGE                 a Debian-based image with Node 20 and npm on PATH
#                              (default node:20-bookworm-slim). A `node` user (uid 1000) is
#                              created when the base lacks one.
#   ONNXRUNTIME_NODE_INSTALL   skip (default, CPU) or cuda12 (see "GPU" below)
#
# Extra CA certificates (a proxy that intercepts TLS): pass a PEM bundle as a build secret,
#   docker build --secret id=extra_ca,src=/path/to/extra-ca.pem -t maas .
# The `npm ci` steps mount it at /run/secrets/extra_ca and point NODE_EXTRA_CA_CERTS at it.
# A secret mount exists only while its RUN step runs: it is in no layer, no build cache entry
# and no `docker history`, of this image or of the build stages. Without the secret nothing
# changes. (Build arguments would be recorded in the stages' history; a COPY into a builder
# stage would sit in the local build cache: hence a secret.)
#
# GPU workers (WORKER_DEVICE=cuda): build with --build-arg ONNXRUNTIME_NODE_INSTALL=cuda12.
# The prod-deps stage then runs onnxruntime-node's install script itself (whatever the npm
# version: npm >= 11.19 skips dependency install scripts that package.json's allowScripts does
# not approve, and it declines this one for CPU builds), which downloads the CUDA provider
# libraries (libonnxruntime_providers_{shared,cuda,tensorrt}.so, from the NuGet
# package Microsoft.ML.OnnxRuntime.Gpu.Linux 1.30.0; linux/x64 only) into
# node_modules/onnxruntime-node/bin/, so the build must be able to reach that feed. The
# libraries need CUDA 12 and cuDNN 9 at run time, which node:20-bookworm-slim does not have:
# pass BASE_IMAGE=<an nvidia/cuda CUDA 12 + cuDNN 9 runtime image with Node 20 installed> and
# run it with the NVIDIA Container Toolkit (GPU snippet in docker-compose.yml). Without them
# the worker logs a warning and falls back to CPU. The build fails when the CUDA provider
# library is missing after the script, rather than ship a CPU-only image by surprise.

ARG BASE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------
# manifests: package.json files and the lockfile, copied first so that the slow `npm ci`
# layers are rebuilt only when one of them changes. npm ci needs every workspace's
# package.json (tools/ and e2e/ too) to check the lockfile.
# ---------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS manifests
WORKDIR /app
ENV TURBO_TELEMETRY_DISABLED=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
COPY package.json package-lock.json .npmrc ./
COPY packages/shared/package.json packages/shared/
COPY packages/client/package.json packages/client/
COPY apps/api/package.json apps/api/
COPY apps/worker/package.json apps/worker/
COPY tools/model-gen/package.json tools/model-gen/
COPY tools/deploy-check/package.json tools/deploy-check/
COPY e2e/package.json e2e/

# ---------------------------------------------------------------------------------------------
# build: every dependency (dev too), compile the TypeScript of the shipped packages
# ---------------------------------------------------------------------------------------------
FROM manifests AS build
# Compiling needs no CUDA libraries: never download them here. The npm cache is a BuildKit
# cache mount (not a layer), so a changed lockfile re-downloads only what changed.
RUN --mount=type=secret,id=extra_ca,required=false \
    --mount=type=cache,target=/root/.npm \
    if [ -s /run/secrets/extra_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/extra_ca; fi \
 && ONNXRUNTIME_NODE_INSTALL=skip npm ci
COPY tsconfig.base.json turbo.json ./
COPY packages/ packages/
COPY apps/ apps/
# Only what the image runs (tools/ and e2e/ are not shipped; their sources are not even
# copied). @maas/shared would also come in through the apps' ^build; it is named anyway
# because the image needs its dist/.
RUN npx turbo run build --filter=@maas/shared --filter=@maas/api --filter=@maas/worker

# ---------------------------------------------------------------------------------------------
# prod-deps: a separate production install of the three shipped workspaces (no dev
# dependencies, nothing that only tools/ or e2e/ use). Runs in parallel with `build`.
# ---------------------------------------------------------------------------------------------
FROM manifests AS prod-deps
# skip: the CPU binaries ship inside the npm package, nothing is downloaded.
# cuda12: download the CUDA provider libraries (see the top of this file), unless npm's own
# run of the script (npm 10 runs it) already did.
ARG ONNXRUNTIME_NODE_INSTALL=skip
# onnxruntime-node bundles native libraries for every platform (about 290 MB); keep only
# linux/<this architecture>, the one its binding loads.
RUN --mount=type=secret,id=extra_ca,required=false \
    --mount=type=cache,target=/root/.npm \
    if [ -s /run/secrets/extra_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/extra_ca; fi \
 && ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL}" \
    npm ci --omit=dev --workspace=@maas/shared --workspace=@maas/api --workspace=@maas/worker \
 && arch="$(node -p process.arch)" \
 && cd node_modules/onnxruntime-node \
 && if [ "${ONNXRUNTIME_NODE_INSTALL}" != skip ] && [ ! -f "bin/napi-v6/linux/${arch}/libonnxruntime_providers_cuda.so" ]; then \
      ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL}" node script/install.js \
      && test -f "bin/napi-v6/linux/${arch}/libonnxruntime_providers_cuda.so"; \
    fi \
 && cd bin/napi-v6 \
 && rm -rf darwin win32 \
 && find linux -mindepth 1 -maxdepth 1 ! -name "${arch}" -exec rm -rf {} + \
 && test -f "linux/${arch}/onnxruntime_binding.node"

# ---------------------------------------------------------------------------------------------
# runtime: the image
# ---------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS runtime
# tini as PID 1 forwards SIGTERM/SIGINT to node (which drains, then exits 0) and reaps
# zombies, also under a plain `docker run` without --init. apt fetches over plain HTTP with
# signed indexes, so it needs no extra CA. The `node` user exists in the official image;
# other bases get one.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
 && (id -u node >/dev/null 2>&1 || useradd --uid 1000 --user-group --create-home --shell /bin/sh node)
WORKDIR /app
ENV NODE_ENV=production \
    MODEL_REPOSITORY=/app/models \
    HOST=0.0.0.0 \
    PORT=8080 \
    GRPC_PORT=8081 \
    WORKER_HEALTH_PORT=8082 \
    WORKER_HEALTH_HOST=0.0.0.0

# Files stay owned by root: read-only for the `node` user that runs the processes.
# prod-deps holds the manifests, node_modules (and any nested workspace node_modules).
COPY --from=prod-deps /app ./
COPY --from=build /app/packages/shared/dist packages/shared/dist
COPY --from=build /app/apps/api/dist apps/api/dist
# the gRPC service definition the API loads at start-up (and clients may generate from)
COPY --from=build /app/apps/api/proto apps/api/proto
COPY --from=build /app/apps/worker/dist apps/worker/dist
# Last, so that changing a model does not rebuild the layers above. docker-compose.yml also
# mounts ./models over it, read-only, so models can be added without rebuilding.
COPY models/ models/

USER node
# HTTP (REST, KServe v2) and KServe v2 gRPC, when the container runs the API
EXPOSE 8080 8081
ENTRYPOINT ["/usr/bin/tini", "--"]

# Probes. The API: GET /v2/health/live (the process answers) and /v2/health/ready (Redis
# reachable) on $PORT; HEALTHCHECK uses ready. A worker: GET /livez and /readyz on its health
# port, $WORKER_HEALTH_PORT (8082, inside the container only: not exposed, so `--scale` works);
# HEALTHCHECK uses livez (a worker that Redis cannot reach is not restarted for it: that would
# not bring Redis back), on WORKER_HEALTH_HOST unless that is a wildcard, and a worker started
# with WORKER_HEALTH_PORT= (none) counts as healthy while it runs. The check reads PID 1's
# command line (tini's, which names the program) to tell which one this container runs.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const e=process.env,w=!require('fs').readFileSync('/proc/1/cmdline','utf8').includes('apps/api/');const p=w?e.WORKER_HEALTH_PORT:(e.PORT||8080);if(!p)process.exit(0);const g=(e.WORKER_HEALTH_HOST||'').replace(/^\\[(.*)\\]$/,'$1'),h=w&&g&&!['0.0.0.0','::'].includes(g)?g:'127.0.0.1';fetch('http://'+(h.includes(':')?'['+h+']':h)+':'+p+(w?'/livez':'/v2/health/ready')).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# ---------------------------------------------------------------------------------------------
# worker: the same image with a worker's command as default (`docker build --target worker`,
# used by deploy/k8s). Scale workers by running more containers against the same REDIS_URL.
# On SIGTERM a worker finishes the jobs it holds: give it time (docker stop -t 60; compose
# stop_grace_period).
# ---------------------------------------------------------------------------------------------
FROM runtime AS worker
CMD ["node", "--initial-old-space-size=128", "apps/worker/dist/main.js"]

# ---------------------------------------------------------------------------------------------
# api: the default target (last stage). Its command runs the API; `node --initial-old-space-size=128
# apps/worker/dist/main.js` as the command runs a worker from the very same image (the worker's
# V8 flags: packages/shared/src/node-flags.ts; V8 does not take them from NODE_OPTIONS).
# ---------------------------------------------------------------------------------------------
FROM runtime AS api
CMD ["node", "apps/api/dist/main.js"]
