# lineage daemon: a verified mirror of model repos with a Hub-compatible API, the Git LFS
# API and the model lineage graph, in one image.
#
#   docker build -t lineage .
#   docker run -p 8080:8080 -v lineage-store:/var/lib/lineage -e HF_TOKEN -e LINEAGE_ADMIN_TOKEN lineage
#
# The default configuration is Mirror/daemon.yaml (the seed survey's models); mount another
# at /etc/lineage/daemon.yaml to change it, and send the container SIGHUP to reload it.

# --- build: the Swift toolchain image -------------------------------------------------------
FROM swift:6.3-bookworm AS build
WORKDIR /src
COPY scripts/setup.sh scripts/setup.sh
RUN bash scripts/setup.sh --build && rm -rf /var/lib/apt/lists/*
# Package manifests first, so that dependency resolution is cached apart from our sources.
COPY Package.swift ./
RUN swift package resolve
COPY . .
# The Swift runtime is linked statically: the run stage needs no toolchain.
RUN swift build -c release --product lineage --static-swift-stdlib -j 2 \
 && install -D -m 0755 "$(swift build -c release --static-swift-stdlib --show-bin-path)/lineage" /out/lineage

# --- run: slim Debian with libgit2, libsqlite3 and Graphviz ----------------------------------
FROM debian:bookworm-slim
COPY scripts/setup.sh /opt/lineage/setup.sh
RUN bash /opt/lineage/setup.sh --runtime && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/lineage --shell /usr/sbin/nologin lineage \
 && install -d -o lineage -g lineage -m 0750 /var/lib/lineage
COPY --from=build /out/lineage /usr/local/bin/lineage
COPY Mirror/ /etc/lineage/
ENV LINEAGE_STORE=/var/lib/lineage
VOLUME ["/var/lib/lineage"]
USER lineage
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
# Inside a container the daemon must listen beyond loopback for the published port to reach it.
ENTRYPOINT ["lineage", "daemon", "--config", "/etc/lineage/daemon.yaml", "--store", "/var/lib/lineage", "--listen", "0.0.0.0:8080"]
