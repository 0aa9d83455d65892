"""Read settings from the environment; a malformed value fails with its variable's name."""

import os
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def env_str(name: str, default: str = "") -> str:
    """Return the variable's value, or `default` when it is unset or empty."""
    return os.environ.get(name) or default


def env_bool(name: str, default: bool) -> bool:
    """Return the variable as a boolean: 1/true/yes/on or 0/false/no/off."""
    raw = env_str(name)
    if not raw:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no, on/off), got {raw!r}")


def env_int(name: str, default: int) -> int:
    """Return the variable as an integer."""
    raw = env_str(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_choice(name: str, choices: tuple[str, ...]) -> str:
    """Return the variable's value, one of `choices`; the first when it is unset or empty."""
    raw = env_str(name, choices[0])
    if raw not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def env_float(name: str, default: float) -> float:
    """Return the variable as a number."""
    raw = env_str(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None


def env_list(name: str, default: tuple[str, ...] = ()) -> list[str]:
    """Return the variable as a comma-separated list, blanks dropped."""
    raw = env_str(name)
    if not raw:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def require(name: str, why: str) -> str:
    """Return the variable's value, or refuse to start, saying which variable and why."""
    value = env_str(name)
    if not value:
        raise ImproperlyConfigured(f"{name} is not set: {why}")
    return value


def require_url(name: str, schemes: tuple[str, ...], why: str) -> str:
    """Return the variable's URL, or refuse to start unless it is set and its scheme, in
    any case, is one of `schemes`.
    """
    url = require(name, why)
    scheme = urlsplit(url).scheme.lower()
    if scheme not in schemes:
        accepted = ", ".join(f"{accepted}://" for accepted in schemes)
        given = f"{scheme}://" if scheme else "no scheme"
        raise ImproperlyConfigured(f"{name} must start with one of {accepted} (got {given}): {why}")
    return url


# An SMTP URL's scheme chooses the encryption: (EMAIL_USE_TLS, EMAIL_USE_SSL, default port).
SMTP_SCHEMES = {
    "smtp": (False, False, 25),  # In clear: a relay on this host or a private network.
    "smtp+tls": (True, False, 587),  # STARTTLS, as providers' submission ports expect.
    "smtp+ssl": (False, True, 465),  # TLS from the first byte (SMTPS).
}
EMAIL_URL_FORMS = (
    "smtp+tls://user:password@host:587, smtp+ssl://user:password@host:465, smtp://host:25 "
    "or console://, with @ : / ? # in the user and password percent-encoded"
)


def env_email(name: str, default: str) -> dict[str, str | int | bool]:
    """Return Django's EMAIL_* settings for the e-mail URL in the variable.

    smtp+tls://me%40example.com:secret@smtp.example.com:587 logs in after STARTTLS;
    smtp+ssl:// speaks TLS from the start; smtp://localhost:25 sends unencrypted and
    logs in only when given a user; console:// prints each message instead.
    """
    # dj-email-url, the usual parser, has had no release since 2022, and django-environ's
    # ignores ?tls=True and sends in clear text: this one is short and refuses what it
    # cannot read. Errors never echo the URL, which holds a password.
    parts = urlsplit(env_str(name, default))
    scheme = parts.scheme.lower()
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}

    def malformed(problem: str) -> ImproperlyConfigured:
        return ImproperlyConfigured(f"{name} must look like {EMAIL_URL_FORMS}; got {problem}")

    if scheme not in SMTP_SCHEMES:
        raise malformed(f"{scheme}://" if scheme else "no scheme")
    try:
        port = parts.port
    except ValueError:  # Not a number or out of range: often an unencoded / in the password.
        raise malformed("an invalid port") from None
    if not parts.hostname:
        raise malformed("no host")
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise malformed("a path, ?query or #fragment")
    use_tls, use_ssl, default_port = SMTP_SCHEMES[scheme]
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port or default_port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
    }
