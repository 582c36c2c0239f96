"""`vila webpush`: Vila's Web Push identity (its VAPID key) from the command line."""

from __future__ import annotations

import click


@click.group()
def webpush() -> None:
    """Web Push for the staff app: Vila's VAPID key."""


@webpush.command("keys")
@click.option("--env", "as_env", is_flag=True, help="Also print the production settings, private key included.")
def keys(as_env: bool) -> None:
    """Make Vila's VAPID key pair once, in the data directory, and print its public key.

    With VILA_WEBPUSH_VAPID_PRIVATE_KEY set, that key is shown instead. Keep the key: browsers
    subscribe with its public half, and a new key makes every subscription useless.
    """
    from kernel.settings import Settings
    from notify.transports.config import WebPushSettings
    from notify.transports.vapid import KEY_FILE_NAME, VapidKey, VapidKeyError, load_or_create

    try:
        data_dir = Settings().data_dir
        webpush_settings = WebPushSettings()
    except Exception as exc:  # a bad VILA_ variable: say which, not a traceback
        raise click.ClickException(f"invalid configuration: {exc}") from exc
    configured = webpush_settings.vapid_private_key.get_secret_value()
    try:
        if configured:
            key, where = VapidKey.parse(configured), "from VILA_WEBPUSH_VAPID_PRIVATE_KEY"
        else:
            path = data_dir / KEY_FILE_NAME
            key, created = load_or_create(path)
            where = f"{'made in' if created else 'kept in'} {path}"
    except VapidKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Vila's VAPID key, {where}")
    click.echo(f"public key (applicationServerKey): {key.public_key}")
    if as_env:
        click.echo(f"VILA_WEBPUSH_VAPID_PRIVATE_KEY={key.private_key}")
        click.echo(f"VILA_WEBPUSH_SUBJECT={webpush_settings.subject}")
