from django.conf import settings
from django.http import FileResponse, HttpResponse, JsonResponse
from django.views.decorators.csrf import ensure_csrf_cookie

_FALLBACK = """<!doctype html><html><head><meta charset="utf-8"><title>Montage</title></head>
<body><h1>Montage</h1><p>The browser app is not built. Run <code>make run</code>.</p></body></html>"""


def health(request):
    return JsonResponse({"status": "ok"})


@ensure_csrf_cookie
def spa(request):
    index = settings.FRONTEND_DIST / "index.html"
    if index.exists():
        return FileResponse(open(index, "rb"), content_type="text/html")
    return HttpResponse(_FALLBACK)
