# syntax=docker/dockerfile:1
# The Carrel image: a static binary on distroless, run as non-root.
# docs/containers.md explains the build arguments, the volume and the
# settings; compose.yaml runs it with PostgreSQL, Caddy and Mailpit.
#
#   docker build -t carrel \
#     --build-arg VERSION="$(git describe --always --dirty)" \
#     --build-arg COMMIT="$(git rev-parse HEAD)" \
#     --build-arg BUILD_DATE="$(git log -1 --format=%cI)" .

FROM golang:1.26 AS build
WORKDIR /src
# The modules first, in their own layer and a cache mount, so a change to
# the code does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_DATE=unknown
# The same flags as make release: no cgo (a static binary that needs no C
# library), no build paths, the version, commit and date for carrel version.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.buildDate=${BUILD_DATE}" \
      -o /out/carrel ./cmd/carrel
# The folders the non-root user must own: the data folder (a volume) and
# /etc/carrel, where compose.yaml's keygen service writes the secret key.
RUN mkdir -p /out/data /out/etc-carrel && chmod 0700 /out/data /out/etc-carrel

# distroless static: CA certificates (for SMTP, Koha, webhooks and the
# staff identity provider over TLS), /etc/passwd with nonroot (65532) and
# /tmp; no shell, no package manager. Time zones are in the binary
# (time/tzdata).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/carrel /usr/local/bin/carrel
COPY --from=build --chown=65532:65532 /out/data/ /var/lib/carrel/
COPY --from=build --chown=65532:65532 /out/etc-carrel/ /etc/carrel/
USER 65532:65532
ENV CARREL_ADDR=0.0.0.0:8080 \
    CARREL_DATA_DIR=/var/lib/carrel
VOLUME ["/var/lib/carrel"]
EXPOSE 8080
# No HEALTHCHECK: distroless has no shell or curl to run one, and carrel
# has no probe command. Orchestrators probe GET /healthz (alive) and
# GET /readyz (ready for traffic) on port 8080 instead.
ENTRYPOINT ["/usr/local/bin/carrel"]
CMD ["serve"]
