# The Tide image: `tide run` (the operator) and `tide zigbee-agent` from one image.
#   docker build -t registry.example.com/tide-operator:0.1.0 .
# Tide runs its TypeScript through tsx (a runtime dependency), so there is no build step: the
# image is the production dependencies, bin/ and src/.

# Dependencies are installed on the full image, which has the compilers a native module may
# need when no prebuilt binary fits (serialport ships prebuilt ones for linux x64 and arm64).
FROM node:22-bookworm AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:22-bookworm-slim
# tini reaps the children Tide starts (ipmitool) and forwards SIGTERM, so a leader releases its
# Lease at once on shutdown; ipmitool powers hosts on and off through their BMCs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini ipmitool \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
# The image's own "node" user, by number so that the kubelet can verify runAsNonRoot. The root
# filesystem is read-only in the cluster: tsx's cache and HOME go to /tmp, an emptyDir there.
USER 1000:1000
ENV HOME=/tmp
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/tide.js"]
CMD ["run"]
