"""Outgoing email: through SMTP when `SMTP_URL` is set, otherwise into `instance/outbox/` and the log.

Never send inside a database transaction: commit what the email announces, then send it.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from network.clock import utcnow

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates" / "mail"
_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


class MailNotSent(Exception):
    """The SMTP server could not be reached or refused the message."""


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str


def render_email(template: str, /, *, to: str, subject: str, **context: object) -> Email:
    """Build an email from `mail/<name>.txt` and `mail/<name>.html` (the HTML one autoescaped)."""
    context = {"subject": subject, **context}
    return Email(
        to=to,
        subject=subject,
        text=_env.get_template(f"{template}.txt").render(context),
        html=_env.get_template(f"{template}.html").render(context),
    )


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    tls: str  # "none", "starttls" or "ssl"
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        """Read `smtp://[user:pass@]host[:port][?starttls=1]` or `smtps://…`. Raises ValueError."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"SMTP_URL must look like smtp://host:port or smtps://host:port, not {url!r}")
        query = parse_qs(parts.query)
        starttls = query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
        tls = "ssl" if parts.scheme == "smtps" else "starttls" if starttls else "none"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if tls == "ssl" else 25),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def default_sender(public_url: str) -> str:
    host = urlsplit(public_url).hostname or ""
    domain = host if "." in host and not host.replace(".", "").isdigit() else "dropnet.localhost"
    return f"Dropnet <no-reply@{domain}>"


@dataclass(frozen=True)
class Mailer:
    """Where the hub's email goes: an SMTP server, or (no SMTP_URL) files in `outbox_dir` and the log."""

    smtp_url: str | None
    outbox_dir: Path
    sender: str
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.smtp_url:
            SmtpTarget.parse(self.smtp_url)  # a typo in the URL fails at start, not at the first email

    def send_email(self, to: str, subject: str, text: str, html: str) -> None:
        """Send one email (plain text with an HTML alternative). Raises MailNotSent."""
        self.send(Email(to=to, subject=subject, text=text, html=html))

    def send(self, email: Email) -> None:
        """Raises MailNotSent."""
        message = self.compose(email)
        if self.smtp_url:
            self._deliver(message)
            log.info("email %r sent to %s", email.subject, email.to)
        else:
            path = self._keep(message)
            log.info("SMTP_URL is not set: email to %s written to %s\n%s", email.to, path, email.text)

    def compose(self, email: Email) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = _one_line(email.to)
        message["Subject"] = _one_line(email.subject)
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2].strip(">") or None)
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        return message

    def _deliver(self, message: EmailMessage) -> None:
        target = SmtpTarget.parse(self.smtp_url or "")
        try:
            if target.tls == "ssl":
                smtp = smtplib.SMTP_SSL(
                    target.host, target.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(target.host, target.port, timeout=self.timeout)
            with smtp:
                if target.tls == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if target.username:
                    smtp.login(target.username, target.password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("email to %s not sent: %s", message["To"], exc)
            raise MailNotSent(
                f"the mail server at {target.host}:{target.port} did not take the email: {exc}"
            ) from exc

    def _keep(self, message: EmailMessage) -> Path:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S")
        path = self.outbox_dir / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(bytes(message))
        return path


def _one_line(value: str) -> str:
    """A header value on one line: names typed by users (a vendor's name in a subject) may hold
    line breaks, \u2028 or \x85 included, which the email package refuses (a 500 on invites)."""
    return " ".join(value.splitlines())
