# Images for the inference cluster: one build, two targets.
#
#   docker build --target api    -t maas-api .      # HTTP API on :8080, gRPC on :8081 (the default target)
#   docker build --target worker -t maas-worker .   # micro-batching ONNX worker
#
# Both images hold the same files (production node_modules, compiled dist/, models/ in
# /app/models) and differ only in CMD and the API's port/healthcheck, so either can run the
# other: `docker run maas-api node apps/worker/dist/main.js`. docker-compose.yml wires them
# to Redis.
#
# GPU workers (WORKER_DEVICE=cuda): build with --build-arg ONNXRUNTIME_NODE_INSTALL=cuda12.
# The production `npm ci` then runs onnxruntime-node's postinstall, which downloads the CUDA
# provider libraries (libonnxruntime_providers_{shared,cuda,tensorrt}.so, from the NuGet
# package Microsoft.ML.OnnxRuntime.Gpu.Linux 1.30.0; linux/x64 only) into
# node_modules/onnxruntime-node/bin/, so the build must be able to reach that feed. The
# libraries need CUDA 12 and cuDNN 9 at run time, which node:20-bookworm-slim does not have:
# base the runtime stage on an nvidia/cuda CUDA 12 + cuDNN 9 runtime image with Node 20
# installed and a non-root user, and run it with the NVIDIA Container Toolkit (GPU snippet in
# docker-compose.yml). Without them the worker logs a warning and falls back to CPU.
# node:20 images ship npm 10, which runs install scripts; npm >= 11.19 skips dependency
# install scripts unless approved (`npm install-scripts approve onnxruntime-node`).

# ---------------------------------------------------------------------------------------------
# manifests: package.json files and the lockfile, copied first so that the slow `npm ci`
# layers are rebuilt only when one of them changes. npm ci needs every workspace's
# package.json (tools/ and e2e/ too) to check the lockfile.
# ---------------------------------------------------------------------------------------------
FROM node:20-bookworm-slim AS manifests
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
COPY e2e/package.json e2e/

# ---------------------------------------------------------------------------------------------
# build: every dependency (dev too), compile the TypeScript of the shipped packages
# ---------------------------------------------------------------------------------------------
FROM manifests AS build
# Compiling needs no CUDA libraries: never download them here.
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci
COPY tsconfig.base.json turbo.json ./
COPY packages/ packages/
COPY apps/ apps/
# Only what the images run (tools/ and e2e/ are not shipped; their sources are not even
# copied). @maas/shared would also come in through the apps' ^build; it is named anyway
# because the images need its dist/.
RUN npx turbo run build --filter=@maas/shared --filter=@maas/api --filter=@maas/worker

# ---------------------------------------------------------------------------------------------
# prod-deps: a separate production install of the three shipped workspaces (no dev
# dependencies, nothing that only tools/ or e2e/ use). Runs in parallel with `build`.
# ---------------------------------------------------------------------------------------------
FROM manifests AS prod-deps
# skip: the CPU binaries ship inside the npm package, nothing is downloaded.
# cuda12: download the CUDA provider libraries (see the top of this file). The environment
# variable wins over the `onnxruntime-node-install=skip` line in .npmrc.
ARG ONNXRUNTIME_NODE_INSTALL=skip
# onnxruntime-node bundles native libraries for every platform (about 290 MB); keep only
# linux/<this architecture>, the one its binding loads.
RUN ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL}" \
    npm ci --omit=dev --workspace=@maas/shared --workspace=@maas/api --workspace=@maas/worker \
 && arch="$(node -p process.arch)" \
 && cd node_modules/onnxruntime-node/bin/napi-v6 \
 && rm -rf darwin win32 \
 && find linux -mindepth 1 -maxdepth 1 ! -name "${arch}" -exec rm -rf {} + \
 && test -f "linux/${arch}/onnxruntime_binding.node"

# ---------------------------------------------------------------------------------------------
# runtime: what both targets share
# ---------------------------------------------------------------------------------------------
FROM node:20-bookworm-slim AS runtime
# tini as PID 1 forwards SIGTERM/SIGINT to node (which drains, then exits 0) and reaps
# zombies, also under a plain `docker run` without --init.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    MODEL_REPOSITORY=/app/models

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
ENTRYPOINT ["/usr/bin/tini", "--"]

# ---------------------------------------------------------------------------------------------
# worker: consumes the queues of the models in $MODEL_REPOSITORY (WORKER_MODELS to choose).
# Scale by running more containers against the same REDIS_URL. On SIGTERM it finishes the
# jobs it holds: give it time (docker stop -t 60; compose stop_grace_period).
# ---------------------------------------------------------------------------------------------
FROM runtime AS worker
CMD ["node", "apps/worker/dist/main.js"]

# ---------------------------------------------------------------------------------------------
# api: the default target (last stage)
# ---------------------------------------------------------------------------------------------
FROM runtime AS api
ENV HOST=0.0.0.0 \
    PORT=8080 \
    GRPC_PORT=8081
EXPOSE 8080 8081
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/v2/health/ready').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
CMD ["node", "apps/api/dist/main.js"]
