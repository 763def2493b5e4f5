from django.contrib import admin

from .models import AudioClip, Marker, Timeline

admin.site.register(Timeline)
admin.site.register(AudioClip)
admin.site.register(Marker)
