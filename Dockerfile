# syntax=docker/dockerfile:1
# Montage: one image for web (ASGI), Celery workers and beat. See docker-compose.yml.

# --- browser app --------------------------------------------------------------------------------
FROM node:20-slim AS frontend
WORKDIR /app/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

# --- Python app ---------------------------------------------------------------------------------
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=studio.settings.production

WORKDIR /app
# espeak-ng powers the built-in narration backend (local-speech).
RUN apt-get update && apt-get install -y --no-install-recommends espeak-ng && rm -rf /var/lib/apt/lists/*
RUN useradd --system --create-home --home-dir /home/montage --uid 10001 montage

# Only the runtime lock (pip-tools, hashed): no test, lint or benchmark packages in the image.
COPY requirements.txt ./
RUN pip install --require-hashes -r requirements.txt

COPY . .
COPY --from=frontend /app/frontend/dist ./frontend/dist

# Static files are collected into the image (served by WhiteNoise). The key below exists only
# for this build step; the real SECRET_KEY comes from the environment at run time.
RUN SECRET_KEY="collectstatic-build-step-only-0123456789abcdefghijklmnopqrstuvwxyz" \
    ALLOWED_HOSTS=localhost AWS_STORAGE_BUCKET_NAME="" \
    python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p var/media var/render-cache \
    && chown -R montage:montage var

USER montage
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "studio.asgi:application"]
