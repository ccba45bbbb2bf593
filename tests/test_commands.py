"""Management commands, production settings and the production compose file."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from carepath.models import AuditLog
from referrals.choices import ReferralState
from referrals.models import Referral

from .conftest import need

ROOT = Path(__file__).resolve().parent.parent


def test_add_user_creates_a_user_with_one_role(db, capsys):
    call_command(
        "add_user", "dr.new", "--role", "neurologist", "--password", "a-long-pass-phrase", "--email", "n@x.org"
    )

    user = get_user_model().objects.get(username="dr.new")
    assert list(user.groups.values_list("name", flat=True)) == ["neurologist"]
    assert user.check_password("a-long-pass-phrase") and user.email == "n@x.org"
    assert AuditLog.objects.filter(object_type="auth.user", object_id=str(user.pk), channel="command").exists()


def test_add_user_refuses_an_unknown_role_and_a_weak_password(db):
    with pytest.raises(CommandError):
        call_command("add_user", "x", "--role", "wizard")
    with pytest.raises(CommandError, match="Password refused"):
        call_command("add_user", "x", "--role", "pediatrician", "--password", "123")
    assert not get_user_model().objects.filter(username="x").exists()


def test_add_user_prints_a_generated_password_once(db, capsys):
    call_command("add_user", "coord.new", "--role", "imaging_coordinator")
    out = capsys.readouterr().out
    password = out.split("Password: ")[1].strip()
    assert get_user_model().objects.get(username="coord.new").check_password(password)


def test_seed_demo_refuses_without_debug(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")
    assert not Referral.objects.exists()


@pytest.mark.slow
def test_seed_demo_loads_cases_in_every_state_once(db, settings):
    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")

    states = set(Referral.objects.values_list("state", flat=True))
    assert states == set(ReferralState.values)
    # 18 and 37 are the MDT's and the follow-up's (referrals/demo_together.py), 19-36 the coming week's
    # (referrals/demo_week.py)
    assert Referral.objects.count() == 37
    from referrals.followup.models import FollowUpVisit
    from referrals.mdt.models import MDTDecision

    assert MDTDecision.objects.count() == 2 and FollowUpVisit.objects.count() == 6
    from imaging.models import MRIRequest

    assert set(MRIRequest.objects.values_list("state", flat=True)) == {
        "requested",
        "protocoled",
        "scheduled",
        "needs_rebooking",
        "performed",
        "reported",
        "cancelled",
    }
    four_year_old = MRIRequest.objects.get(referral__patient__given_name="Oliver")
    assert four_year_old.appointment.sedation == "general_anaesthesia"
    teen = MRIRequest.objects.get(referral__patient__given_name="Maya")
    assert teen.appointment.sedation == "none"


def _production_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CELERY_BROKER_URL"))}
    env.update(
        DEBUG="false",
        SECRET_KEY="x" * 20 + "-production-secret-key-for-the-check-0123456789",
        DATABASE_URL="postgres://carepath@db.internal:5432/carepath",
        CELERY_BROKER_URL="redis://redis.internal:6379/0",
        ALLOWED_HOSTS="carepath.example.org",
        DJANGO_SETTINGS_MODULE="carepath.settings",
        **extra,
    )
    return env


def _check_deploy(env):
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = _check_deploy(_production_env())
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_refuses_the_development_secret_key_and_sqlite():
    env = _production_env()
    env.pop("SECRET_KEY")
    env.pop("DATABASE_URL")
    result = _check_deploy(env)
    assert result.returncode != 0
    assert "carepath.E001" in result.stderr + result.stdout and "carepath.E002" in result.stderr + result.stdout


def test_docker_compose_file_is_valid():
    need(shutil.which("docker-compose") is not None, "docker-compose (Debian package docker-compose)")
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_tick_status_fails_as_a_health_check_when_the_sweep_lags(pathway):
    from datetime import timedelta

    from django.utils import timezone

    pathway.submitted()  # opens a triage item with reminder and escalation timers
    later = (timezone.now() + timedelta(days=30)).isoformat()
    call_command("tick", "--status", "--now", later, "--force", "--max-lag", str(365 * 86400))
    with pytest.raises(CommandError, match="behind"):
        call_command("tick", "--status", "--now", later, "--force", "--max-lag", "60")


def test_the_embedded_broker_keeps_its_files_under_the_var_directory(tmp_path):
    """`./dev up`'s broker (kombu's filesystem transport): sending a task, which declares and binds
    its queue, leaves nothing in the working directory, only under CAREPATH_VAR_DIR."""
    var, cwd = tmp_path / "var", tmp_path / "cwd"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    env.update(CAREPATH_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="carepath.settings", PYTHONPATH=str(ROOT))
    script = "import django; django.setup(); from carepath.celery import app; app.send_task('carepath.no_such_task')"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert list(cwd.iterdir()) == []
    assert (var / "broker" / "control" / "celery.exchange").exists()
    assert len(list((var / "broker" / "queue").iterdir())) == 1
