# shipbot: a small, non-root image whose default command is `shipbot serve`.
# The same image runs the worker (`shipbot worker`) and Socket Mode (`shipbot socket`).
# Its Python packages are requirements.lock's, at those exact versions (`make lock` writes it
# from pyproject.toml); nothing is resolved here. Neither the console extra (fakeredis) nor the
# dev tools are in it.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY requirements.lock ./
RUN pip install --no-cache-dir --no-deps --prefix=/install -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot bot
COPY handlers handlers
COPY integrations integrations
RUN pip install --no-cache-dir --no-deps --prefix=/install .

FROM python:3.11-slim-bookworm
# Ansible reaches real hosts over SSH. The user's numeric id lets Kubernetes check
# runAsNonRoot without a runAsUser.
RUN apt-get update \
    && apt-get install -y --no-install-recommends openssh-client \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 shipbot \
    && useradd --create-home --uid 10001 --gid 10001 shipbot
COPY --from=build /install /usr/local
USER 10001:10001
WORKDIR /home/shipbot
ENV SHIPBOT_PORT=3000 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
EXPOSE 3000
# Process-level: /livez asks nothing of Redis (a bot without Redis still answers people and a
# restart would not bring Redis back); /healthz and /readyz are for monitoring.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/livez' % os.environ.get('SHIPBOT_PORT', '3000'), timeout=2)"]
CMD ["shipbot", "serve"]
