"""``lms users ...`` commands and the demo institutions and accounts."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from lms.config import LOCALES
from lms.core.errors import UserError
from lms.extensions import db
from lms.users import operations
from lms.users.models import Institution, InstitutionKind, Role, User
from lms.users.util import find_user_by_contact


@click.group()
def cli() -> None:
    """Accounts."""


cli.name = "users"


@cli.command("create")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", "real_name", required=True, help="Real name.")
@click.option("--contact", required=True, help="Mobile phone number or email (the login).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--institution", "institution_code", help="Institution code (staff roles).")
@click.option("--locale", type=click.Choice(LOCALES), default="bo", show_default=True)
@click.option("--resident-id", default=None, help="Resident ID number (optional).")
@with_appcontext
def create(role: str, real_name: str, contact: str, password: str,
           institution_code: str | None, locale: str, resident_id: str | None) -> None:
    """Create an account with any role (for the first administrator, say)."""
    institution = None
    if institution_code:
        institution = db.session.scalar(
            select(Institution).where(Institution.code == institution_code.upper()))
        if institution is None:
            raise click.UsageError(f"no institution with code {institution_code}")
    try:
        user = operations.create_user(real_name=real_name, contact=contact, password=password,
                                      locale=locale, role=Role(role), institution=institution,
                                      resident_id=resident_id)
    except UserError as err:
        db.session.rollback()
        raise click.ClickException(str(err.message)) from None
    db.session.commit()
    click.echo(f"Created {user.role.value} #{user.id} {user.real_name} ({user.login_name}).")


DEMO_PASSWORD = "yonten-demo-2026"  # noqa: S105 (printed for demo accounts only)

DEMO_INSTITUTIONS = (
    dict(code="LS-TBASE", kind=InstitutionKind.PUBLIC_TRAINING_BASE, prefecture="540100",
         county_bo="ཁྲིན་ཀོན་ཆུས།", county_zh="城关区", county_en="Chengguan District",
         subsidy_approved=True,
         name_bo="ལྷ་ས་གྲོང་ཁྱེར་ལས་རིགས་ལག་རྩལ་སྦྱོང་བརྡར་སྤྱི་པའི་གཞི་ཚུགས།",
         name_zh="拉萨市职业技能公共实训基地",
         name_en="Lhasa Public Vocational Skills Training Base"),
    dict(code="SG-THANGKA", kind=InstitutionKind.PRIVATE, prefecture="540200",
         county_bo="བསམ་འགྲུབ་རྩེ་ཆུས།", county_zh="桑珠孜区", county_en="Samzhubzê District",
         subsidy_approved=True,
         name_bo="གཞིས་ཀ་རྩེ་ཐང་ཀའི་སྒྱུ་རྩལ་སློབ་གྲྭ།",
         name_zh="日喀则唐卡艺术培训学校",
         name_en="Shigatse Thangka Art School"),
)

#: (role, name, contact, institution code) of each demo account.
DEMO_ACCOUNTS = (
    (Role.REGIONAL_ADMIN, "བསོད་ནམས་ཆོས་འཕེལ།", "region.admin@yonten.example", None),
    (Role.INSTITUTION_ADMIN, "卓玛 (Drolma)", "institution.admin@yonten.example", "LS-TBASE"),
    (Role.INSTRUCTOR, "ཚེ་རིང་དོན་གྲུབ།", "instructor@yonten.example", "LS-TBASE"),
    (Role.LEARNER, "བཀྲ་ཤིས་ལྷ་མོ།", "learner@yonten.example", None),
)


def load_demo() -> list[str]:
    """Create the demo institutions and one account per role (idempotent)."""
    by_code = {}
    for spec in DEMO_INSTITUTIONS:
        institution = db.session.scalar(select(Institution).where(Institution.code == spec["code"]))
        if institution is None:
            institution = Institution(**spec)
            db.session.add(institution)
        by_code[spec["code"]] = institution
    db.session.flush()
    lines = ["", f"Demo accounts (password for all: {DEMO_PASSWORD}):"]
    for role, name, contact, code in DEMO_ACCOUNTS:
        user = find_user_by_contact(contact)
        if user is None:
            user = operations.create_user(real_name=name, contact=contact,
                                          password=DEMO_PASSWORD, locale="bo", role=role,
                                          institution=by_code.get(code) if code else None)
        lines.append(f"  {role.value.replace('_', ' '):<20} {contact}")
    return lines


def demo_user(role: Role) -> User:
    """The demo account holding ``role`` (other domains' demo loaders use it)."""
    contact = next(c for r, _n, c, _i in DEMO_ACCOUNTS if r == role)
    user = find_user_by_contact(contact)
    assert user is not None, "load the users demo first"
    return user
