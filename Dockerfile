# shipbot: a small, non-root image whose default command is `shipbot serve`.
# The same image runs the worker: `docker run ... shipbot worker`.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY handlers handlers
COPY integrations integrations
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
# Ansible reaches real hosts over SSH.
RUN apt-get update \
    && apt-get install -y --no-install-recommends openssh-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 shipbot
COPY --from=build /install /usr/local
USER shipbot
WORKDIR /home/shipbot
ENV SHIPBOT_PORT=3000 PYTHONUNBUFFERED=1
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('SHIPBOT_PORT', '3000'), timeout=2)"
CMD ["shipbot", "serve"]
