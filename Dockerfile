# syntax=docker/dockerfile:1
# Two images from one file:
#   --target bot     adapters + web playground/API (no model, no GPU libraries)
#   --target worker  queue worker with the model; CUDA 12 + cuDNN 9 runtime, falls back to CPU without a GPU

ARG NODE_IMAGE=node:20-bookworm-slim
# Its glibc must not be older than the Node image's (node_modules are installed there and copied over).
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

# Production dependencies, installed as the README says: the .npmrc leaves out onnxruntime-node's CUDA provider
# download, and the GPU stage then fetches it with the README's CUDA 12 command.
FROM ${NODE_IMAGE} AS deps-base
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./

FROM deps-base AS deps-cpu
RUN npm ci --omit=dev --no-audit --no-fund

FROM deps-base AS deps-gpu
RUN npm ci --omit=dev --no-audit --no-fund && ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js

# The application source, once, for both images.
FROM scratch AS app
COPY package.json tsconfig.json /app/
COPY bin /app/bin
COPY config /app/config
COPY common /app/common
COPY src /app/src
COPY adapters /app/adapters
COPY worker /app/worker
# The praise corpus the worker retrieves from (retrieval.dir), and the frames that quote a post (frames.dir).
COPY data/praise /app/data/praise
COPY data/frames /app/data/frames

FROM ${NODE_IMAGE} AS bot
# bin/kuakua.mjs runs the prebuilt bundle in KUAKUA_BUNDLE_DIR and never builds one.
ENV NODE_ENV=production KUAKUA_BUNDLE_DIR=/app/.build
WORKDIR /app
COPY --from=deps-cpu /app/node_modules ./node_modules
COPY --from=app /app ./
# The CLI's bundle (bin/bundle.mjs), built now into /app/.build, which stays root's: the node user runs it and cannot
# change it. The only folder the bot writes is the WeChat login sessions' (wechat.memoryDir), its own and private;
# the bot-sessions volume is mounted there.
RUN node bin/bundle.mjs /app/.build && mkdir -p .kuakua/wechat && chown -R node:node .kuakua && chmod -R go= .kuakua
USER node
EXPOSE 8787
CMD ["node", "bin/kuakua.mjs", "bot"]

FROM ${CUDA_IMAGE} AS worker
ENV NODE_ENV=production KUAKUA_BUNDLE_DIR=/app/.build
COPY --from=deps-base /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=deps-gpu /app/node_modules ./node_modules
COPY --from=app /app ./
# Models are mounted at /app/models (see docker-compose.yml); the directory exists for a bare `docker run` too. The
# bundle is built as in the bot image, root's and read-only to the runtime user.
RUN mkdir -p models && node bin/bundle.mjs /app/.build && useradd --system --uid 1001 kuakua
USER kuakua
CMD ["node", "bin/kuakua.mjs", "worker"]
