urlpatterns: list = []  # local media serving (Range requests) — media work fills this in
