# logmeter's image: a static binary and the CA bundle it needs for TLS to
# Elasticsearch, nothing else (no shell). The binary is built first, as the
# Prometheus exporters do; scripts/build-image.sh does both steps:
#
#   CGO_ENABLED=0 go build -ldflags "-X main.version=$VERSION" -o build/logmeter ./cmd/logmeter
#   cp /etc/ssl/certs/ca-certificates.crt build/
#   buildah --storage-driver vfs bud --isolation chroot -t logmeter:$VERSION .
FROM scratch
COPY build/logmeter /bin/logmeter
COPY build/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY rules/ /etc/logmeter/rules/
COPY deploy/logmeter.yaml /etc/logmeter/logmeter.yaml
# Runs as nobody by default; the DaemonSet runs it as root with every
# capability dropped but DAC_READ_SEARCH, to read root-owned logs.
USER 65534:65534
EXPOSE 9144
ENTRYPOINT ["/bin/logmeter"]
CMD ["run", "--config", "/etc/logmeter/logmeter.yaml"]
