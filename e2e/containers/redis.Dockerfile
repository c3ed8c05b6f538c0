# Test-only Redis image (e2e/containers): Debian's redis-server on the same local base, for
# docker-compose.yml's REDIS_IMAGE where redis:7 cannot be pulled. Like the official image:
# data in /data (owned by `redis`, so a fresh named volume is too), runs as `redis`,
# `redis-server` on PATH. docker-compose.yml passes --protected-mode no, which the official
# image builds in (the port is reachable only on the compose network).
ARG BASE=maas-test-rootfs:bookworm
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
 && mkdir -p /data && chown redis:redis /data
WORKDIR /data
VOLUME /data
USER redis
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no"]
