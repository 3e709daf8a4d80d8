# warren's container image: one image for the exporter and the remediator; the command picks.
# Node 24 comes from the base image, so the node@24 devDependency is not needed here.
FROM node:24-bookworm-slim
WORKDIR /opt/warren
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY src ./src
RUN mkdir -p /var/lib/warren && chown node:node /var/lib/warren
USER node
ENTRYPOINT ["/opt/warren/bin/warren.js"]
CMD ["exporter", "--config", "/etc/warren/warren.yml"]
