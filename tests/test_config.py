"""Settings layering and validation."""

import re
from pathlib import Path

import pytest

from newsletter.config import Settings, load_settings
from newsletter.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newsletter.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_run_with_no_file_against_local_smtp() -> None:
    settings = load_settings(env={})
    assert settings.database.url == "sqlite:///newsletter.db"
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.tls) == ("localhost", 1025, "none")
    assert settings.digest.max_items == 10
    assert settings.source_file is None


def test_file_then_environment_wins(tmp_path: Path) -> None:
    path = write(tmp_path, '[smtp]\nport = 2525\nhost = "mail.example.org"\n[sources.hf]\nurl = "http://x/api"\n')
    settings = load_settings(path, env={"NEWSLETTER_SMTP_PORT": "2626", "NEWSLETTER_SOURCES_HF_ENABLED": "false"})
    assert settings.smtp.port == 2626
    assert settings.smtp.host == "mail.example.org"
    assert settings.sources.hf.url == "http://x/api"
    assert settings.sources.hf.enabled is False
    assert settings.source_file == str(path)


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "[digest]\nmax_items = 4\n")
    assert load_settings(env={"NEWSLETTER_CONFIG": str(path)}).digest.max_items == 4


def test_list_from_environment_is_comma_separated() -> None:
    settings = load_settings(env={"NEWSLETTER_SOURCES_ARXIV_CATEGORIES": "cs.LG, q-bio.NC"})
    assert settings.sources.arxiv.categories == ("cs.LG", "q-bio.NC")


def test_cli_style_override_replaces_one_key() -> None:
    settings = load_settings(env={}).replace(smtp={"port": 2000})
    assert settings.smtp.port == 2000
    assert settings.smtp.host == "localhost"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[smtp]\nprot = 25\n", "unknown key 'smtp.prot' (did you mean 'smtp.port'?)"),
        ("[smtpp]\nport = 25\n", "unknown key 'smtpp' (did you mean 'smtp'?)"),
        ('[smtp]\nport = "abc"\n', "'smtp.port' must be a whole number, got 'abc'"),
        ('[smtp]\ntls = "ssl"\n', "'smtp.tls' must be one of none, starttls, implicit"),
        ('[schedule]\ningest_at = "25:00"\n', "'schedule.ingest_at' must be HH:MM"),
        ('[digest]\ndefault_timezone = "Mars/Olympus"\n', "not an IANA timezone"),
        ('[digest]\nsubject = "{nope}"\n', "'digest.subject' may use only"),
        ("[smtp]\nport = \n", "invalid TOML"),
    ],
)
def test_bad_file_names_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_malformed_toml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[smtp]\nhost = "a"\nport = = 3\n')
    with pytest.raises(ConfigError, match="line 3"):
        load_settings(path, env={})


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", env={})


def test_a_misspelt_environment_variable_is_said(caplog) -> None:
    """A warning, not an error: a container platform sets NEWSLETTER_PORT and the like for a service named so."""
    settings = load_settings(env={"NEWSLETTER_SMTP_PROT": "2525", "NEWSLETTER_NOTHING_LIKE_IT": "1"})
    assert settings.smtp.port == Settings().smtp.port
    said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert said == [
        "environment: NEWSLETTER_NOTHING_LIKE_IT is no setting: ignored",
        "environment: NEWSLETTER_SMTP_PROT is no setting (did you mean NEWSLETTER_SMTP_PORT?): ignored",
    ]
    assert load_settings(env={"NEWSLETTER_SMTP_PORT": "2525", "OTHER_SMTP_PROT": "x"}).smtp.port == 2525


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"NEWSLETTER_SMTP_POOL_SIZE: 'smtp\.pool_size' must be a whole number"):
        load_settings(env={"NEWSLETTER_SMTP_POOL_SIZE": "many"})


def test_secrets_are_not_in_repr_or_errors(tmp_path: Path) -> None:
    settings = load_settings(env={"NEWSLETTER_SMTP_PASSWORD": "hunter2", "NEWSLETTER_WEB_SECRET_KEY": "s3cret"})
    assert settings.smtp.password == "hunter2"
    assert "hunter2" not in repr(settings) and "s3cret" not in repr(settings)
    path = write(tmp_path, "[smtp]\npassword = 12345\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert "12345" not in str(info.value)


def test_example_config_is_complete_and_loads() -> None:
    """config.example.toml documents every key: loading it works and it mentions each one."""
    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    load_settings(example, env={})
    text = example.read_text()
    defaults = Settings()
    sections = [getattr(defaults, name) for name in ("database", "smtp", "sender", "dkim", "web", "digest", "schedule")]
    for section in [*sections, defaults.sources.hf, defaults.sources.arxiv]:
        for key in vars(section):
            assert f"\n{key} =" in text or f"\n# {key} =" in text, f"{section}.{key} is not documented"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("SENDER_LIST_ID", "digest.example.org\r\nBcc: x@example.com"),
        ("SENDER_LIST_ID", "digest"),
        ("SENDER_FEEDBACK_SENDER", "acme:papers"),
        ("SENDER_FEEDBACK_SENDER", "acme\npapers"),
        ("SMTP_DOMAIN_LIMITS", "gmail.com=20 per second"),
        ("SMTP_DOMAIN_LIMITS", "gmail.com=0/s"),
        ("SMTP_DOMAIN_LIMITS", "gmail=20/s"),
        ("SMTP_DOMAIN_LIMITS", "gmail.com"),
        ("WEB_BASE_URL", "https://papers.example.org\n"),  # a secrets file's last newline: in every link's header
        ("WEB_BASE_URL", "https://papers.example.org/>\r\nX-Evil: 1"),
        ("WEB_BASE_URL", "https://papers example.org"),
        ("WEB_BASE_URL", "https://papers.example.org/a'b"),
        ("WEB_CONFIRM_PER_IP", "0"),  # a message that names two keys: the one the variable set is blamed
        ("SMTP_RATE_PER_HOUR", "-1"),
    ],
)
def test_header_and_pace_settings_that_would_break_something_are_refused(key, value) -> None:
    """A List-Id or Feedback-ID part that could carry a line break or a field separator, or a rate that means
    nothing, stops the start with a one-line error naming the key."""
    name = key.lower().replace("_", ".", 1)
    with pytest.raises(ConfigError, match=re.escape(name)) as info:
        load_settings(env={f"NEWSLETTER_{key}": value})
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(f"NEWSLETTER_{key}: "), "the variable that set it, not the config file"


def test_domain_limits_from_the_file_and_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, '[smtp]\ndomain_limits = { "Gmail.com" = "20/s", "yahoo.com" = "300/m" }\n')
    settings = load_settings(path, env={})
    assert settings.smtp.domain_limits == (("gmail.com", "20/s"), ("yahoo.com", "300/m"))
    assert settings.smtp.domain_intervals == {"gmail.com": 0.05, "yahoo.com": 0.2}
    env = {"NEWSLETTER_SMTP_DOMAIN_LIMITS": "outlook.com=2000/h, gmail.com = 10/s"}
    assert load_settings(path, env=env).smtp.domain_intervals == {"outlook.com": 1.8, "gmail.com": 0.1}
    assert load_settings(env={}).smtp.domain_limits == ()


def test_relative_paths_in_a_file_mean_beside_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cron job or a shell in another folder must reach the same database, not make a new, empty one."""
    folder = tmp_path / "my site"  # a space: the folder goes into the URL percent-encoded
    folder.mkdir()
    config = folder / "newsletter.toml"
    config.write_text(
        '[database]\nurl = "sqlite:///data/papers.db?timeout=5"\n'
        '[paths]\ncache = "cache"\nstate = "/var/lib/newsletter"\n'
        '[dkim]\nselector = "s"\nprivate_key_file = "keys/dkim.pem"\n',
        encoding="utf-8",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings(config, env={})
    assert settings.database.url == f"sqlite:///{tmp_path}/my%20site/data/papers.db?timeout=5"
    assert settings.paths.cache == str(folder / "cache") and settings.paths.state == "/var/lib/newsletter"
    assert settings.dkim.private_key_file == str(folder / "keys" / "dkim.pem")
    # The environment has no folder of its own: there a relative path is the current folder's, as before.
    assert load_settings(config, env={"NEWSLETTER_DATABASE_URL": "sqlite:///x.db"}).database.url == "sqlite:///x.db"


def test_a_relative_database_of_a_config_elsewhere_is_the_one_beside_it(tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    from newsletter.cli import main

    site = tmp_path / "site"
    site.mkdir()
    config = site / "newsletter.toml"
    config.write_text('[database]\nurl = "sqlite:///newsletter.db"\n', encoding="utf-8")
    monkeypatch.chdir(site)
    assert CliRunner().invoke(main, ["--config", str(config), "db", "upgrade"]).exit_code == 0
    assert CliRunner().invoke(main, ["--config", str(config), "subscribers", "add", "ada@example.com"]).exit_code == 0
    monkeypatch.chdir(tmp_path)
    listed = CliRunner().invoke(main, ["--config", str(config), "subscribers", "list", "--json"])
    assert listed.exit_code == 0 and '"ada@example.com"' in listed.stdout
    assert not (tmp_path / "newsletter.db").exists()


def test_a_bad_key_is_said_where_it_was_set(tmp_path: Path) -> None:
    from newsletter.config import require_secret_key

    path = write(tmp_path, '[web]\nsecret_key = "short"\n')
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: 'web.secret_key' is 5 characters"):
        require_secret_key(load_settings(path, env={}))
    # A variable wins over the file, and the message names the variable, not the file it did not come from.
    settings = load_settings(path, env={"NEWSLETTER_WEB_SECRET_KEY": "tiny"})
    assert settings.from_environment == {"web.secret_key"}
    with pytest.raises(ConfigError, match=r"^NEWSLETTER_WEB_SECRET_KEY: 'web.secret_key' is 4 characters"):
        require_secret_key(settings)
    nested = load_settings(path, env={"NEWSLETTER_SOURCES_HF_URL": "http://127.0.0.1:1/x"})
    assert nested.from_environment == {"sources.hf.url"} and nested.origin("web.secret_key") == str(path)


def test_a_file_without_a_database_means_the_default_one_beside_it(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # cron, systemd or a shell in another folder
    path = write(tmp_path, '[web]\nbase_url = "https://papers.example.org"\n')
    assert load_settings(path, env={}).database.url == f"sqlite:///{tmp_path}/newsletter.db"
    assert load_settings(env={}).database.url == "sqlite:///newsletter.db"  # no file: here, as zero set-up says


def test_a_migrations_folder_that_holds_none_is_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from newsletter.cli import main

    env = {"NEWSLETTER_DATABASE_URL": f"sqlite:///{tmp_path}/m.db", "NEWSLETTER_PATHS_MIGRATIONS": str(tmp_path)}
    result = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert f"'paths.migrations': {tmp_path} holds no migrations" in result.output


@pytest.mark.parametrize(
    ("key", "value"),
    [("from_address", "not an address"), ("from_address", "papers@"), ("reply_to", "a@b.org\r\nX-Evil: 1")],
)
def test_a_bad_sender_address_names_its_own_key(tmp_path: Path, key: str, value: str) -> None:
    path = write(tmp_path, f'[sender]\n{key} = "{value.encode("unicode_escape").decode()}"\n')  # TOML escapes
    with pytest.raises(ConfigError, match=rf"'sender.{key}' must be an email address"):
        load_settings(path, env={})
