# The runtime image of Leave Calendar: one static binary, a CA bundle for TLS to AWS, nothing else
# (no shell, no package manager, no curl). It runs as a non-root numeric user, needs no writable
# path (the container runs with a read-only root filesystem and every capability dropped), and
# answers its own health check.
#
# The binary is built outside the image (a static musl build; no base image needs pulling), and
# this file only assembles it: `scripts/build-image` stages the build context and runs
# `docker build`. Build it by hand with:
#
#   scripts/build-image --arch amd64 --tag leave-calendar:dev
#
# Context layout (see .dockerignore): build/image/<arch>/leave-calendar and
# build/image/ca-certificates.crt.
FROM scratch

# amd64 or arm64; `scripts/build-image` passes it with the matching --platform.
ARG TARGETARCH=amd64
# OCI annotations: where the code lives, the commit it was built from, the app's version.
ARG SOURCE=unknown
ARG REVISION=unknown
ARG VERSION=unknown

LABEL org.opencontainers.image.title="leave-calendar" \
      org.opencontainers.image.description="Team leave calendar: HTML pages and a JSON API over DynamoDB" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}"

# The DynamoDB client trusts the system's certificate store; scratch has none.
COPY build/image/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY build/image/${TARGETARCH}/leave-calendar /leave-calendar

# The container's side of the contract; the task definition sets the same values.
ENV BIND_ADDRESS=0.0.0.0 \
    PORT=8080 \
    LOG_FORMAT=json \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt

# The same numeric user the task definition names (distroless "nonroot").
USER 65532:65532
EXPOSE 8080

# No shell and no curl: the binary asks its own /health.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/leave-calendar", "healthcheck"]

ENTRYPOINT ["/leave-calendar"]
