# Users are django.contrib.auth's User; API tokens are rest_framework.authtoken's Token.
