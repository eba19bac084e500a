"""``gongzhi keys ...``: the key file, its status, and data-key rotation."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from gongzhi.clikit import cli_actor
from gongzhi.config import get_settings
from gongzhi.crypto import get_provider, keyfile
from gongzhi.crypto.provider import CryptoError
from gongzhi.crypto.software import SoftwareCryptoProvider

app = typer.Typer(no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _software_provider() -> SoftwareCryptoProvider:
    provider = get_provider(get_settings())
    if not isinstance(provider, SoftwareCryptoProvider):
        err.print("[red]the configured provider keeps its keys elsewhere (HSM)[/red]")
        raise typer.Exit(code=1)
    return provider


@app.command("generate")
def generate(
    file: Path = typer.Option(
        None, "--file", help="Where to write (default: GONGZHI_KEY_FILE or var/keys.json)."
    ),
) -> None:
    """Write a new key file (mode 0600): data key version 1, an index key, the audit SM2 key."""
    path = file or get_settings().key_path
    if not keyfile.write(path, keyfile.KeyMaterial.generate(), exclusive=True):
        err.print(f"[red]{path} exists; refusing to overwrite keys[/red]")
        raise typer.Exit(code=1)
    console.print(f"[green]wrote[/green] {path} (mode 0600) — back it up now, see docs/keys.md")


@app.command("add-signing-key")
def add_signing_key(name: str = typer.Argument(..., help="Key name, e.g. audit.")) -> None:
    """Add an SM2 signing key pair to the key file."""
    provider = _software_provider()
    material = provider.material
    try:
        key = material.add_signing_key(name)
    except CryptoError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=1) from None
    provider.save(material)
    console.print(f"added SM2 key {name!r}, public key {key.public.hex()}")


@app.command("status")
def status() -> None:
    """Key versions, and how many sealed values each version holds, per column."""
    from gongzhi.clikit import unit_of_work
    from gongzhi.crypto.rotation import counts_by_version

    provider = _software_provider()
    material = provider.material
    console.print(f"key file: {provider.path}")
    versions = Table("version", "state", "created", title="data keys (SM4)")
    for v in sorted(material.data_keys):
        key = material.data_keys[v]
        state = key.state + (" (current)" if v == material.current_data_key else "")
        versions.add_row(str(v), state, key.created_at)
    console.print(versions)
    console.print("index key (HMAC-SM3): 1, not rotated by `gongzhi keys rotate`")
    console.print(f"signing keys (SM2): {', '.join(sorted(material.signing_keys)) or '-'}")
    with unit_of_work() as db:
        counts = counts_by_version(db)
    table = Table("column", *(f"v{v}" for v in sorted(material.data_keys)), title="sealed values")
    for column, counter in counts.items():
        table.add_row(column, *(str(counter.get(v, 0)) for v in sorted(material.data_keys)))
    console.print(table)


@app.command("rotate")
def rotate(
    batch_size: int = typer.Option(500, min=1, help="Rows per transaction."),
) -> None:
    """Add a data-key version and re-encrypt every sealed column under it (resumable).

    Run it again after an interruption: it continues where it stopped. The old version stays
    readable until the end, then is retired. Index (HMAC) keys are not rotated."""
    from gongzhi.crypto.rotation import rotate as run_rotation
    from gongzhi.db import make_engine, make_session_factory

    provider = _software_provider()
    engine = make_engine(get_settings().database_url)
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("re-encrypting", total=None)
            result = run_rotation(
                make_session_factory(engine),
                provider,
                actor=cli_actor("keys"),
                batch_size=batch_size,
                on_start=lambda total: progress.update(task, total=total),
                on_batch=lambda n: progress.advance(task, n),
            )
    except CryptoError as exc:
        err.print(f"[red]rotation stopped: {exc}[/red]")
        raise typer.Exit(code=1) from None
    finally:
        engine.dispose()
    how = "started and finished" if result.started else "continued and finished"
    console.print(
        f"[green]rotation to version {result.version} {how}[/green]: {result.rows} rows "
        f"re-encrypted; retired: {', '.join(map(str, result.retired)) or '-'}"
    )
