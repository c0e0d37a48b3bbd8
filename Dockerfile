# A posnode image: nothing but the static binary.
#
# The binary is built on the host and copied in; the image has no toolchain, no shell and no libc. Build it with
#
#   CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o build/posnode ./cmd/posnode
#   docker build -t posnode:local .
#
# (scripts/testnet.sh does both.) CGO_ENABLED=0 makes the binary static, so it runs in an empty root.
FROM scratch
COPY build/posnode /posnode
# libp2p, HTTP API and /metrics.
EXPOSE 4001 8080
ENTRYPOINT ["/posnode"]
# Default: a node whose key, API token, chain and optional config.json live in the /data volume; pass --genesis
# and --bootstrap (or POSNODE_GENESIS, POSNODE_BOOTSTRAP) to join a network. The API listens on all of the
# container's interfaces because a published port arrives on its network interface; publish it on the host's
# 127.0.0.1 (-p 127.0.0.1:8080:8080). POST routes need the token: docker cp <container>:/data/api-token -
CMD ["run", "--home", "/data", "--http", "0.0.0.0:8080", "--mdns=false"]
