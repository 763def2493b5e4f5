from django.apps import AppConfig


class RenderingConfig(AppConfig):
    name = "apps.rendering"
    label = "rendering"
