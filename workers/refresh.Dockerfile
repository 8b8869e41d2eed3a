# Lays the current application (dist/, backend/, workers/, package.json of the runtime image) over a
# vertical image whose tools were installed from an older one, so that editing the project does
# not reinstall every vertical's tools. backend/scripts/docker-images.sh builds
# fuzzforge/worker-<vertical>:local this way from fuzzforge/worker-<vertical>:tools (the vertical's
# own Dockerfile). node_modules is not copied: a change there rebuilds :tools instead.
ARG RUNTIME_IMAGE=fuzzforge/runtime:local
ARG TOOLS_IMAGE
FROM ${RUNTIME_IMAGE} AS app

FROM ${TOOLS_IMAGE}
COPY --from=app /opt/fuzzforge/package.json /opt/fuzzforge/package.json
COPY --from=app /opt/fuzzforge/dist/ /opt/fuzzforge/dist/
COPY --from=app /opt/fuzzforge/backend/ /opt/fuzzforge/backend/
COPY --from=app /opt/fuzzforge/workers/ /opt/fuzzforge/workers/
