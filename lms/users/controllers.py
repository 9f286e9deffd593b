"""Account pages (register, login, profile) and administration of people and institutions."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user, user_loaded_from_cookie
from werkzeug.wrappers import Response

from lms.config import LOCALES
from lms.core import throttle
from lms.core.access import login_required, public, roles_required
from lms.core.errors import UserError
from lms.core.forms import form_values
from lms.core.i18n import CHOSEN_LANGUAGE, LANG_COOKIE
from lms.extensions import db, login_manager
from lms.users import operations, permissions
from lms.users.forms import (
    InstitutionForm,
    LoginForm,
    PasswordChangeForm,
    PasswordResetForm,
    ProfileForm,
    RegistrationForm,
    StaffForm,
)
from lms.users.models import ADMIN_ROLES, Institution, Role, User
from lms.users.operations import ResidentIdTaken
from lms.users.util import institutions_visible_to, users_visible_to
from lms.web.controllers import safe_next
from lms.web.menus import dashboard_panel


@dashboard_panel(*ADMIN_ROLES, order=90)
def _admin_panel(user: User) -> dict:
    return {"template": "users/panel_admin.html",
            "people": db.count(users_visible_to(user)),
            "institutions": db.count(institutions_visible_to(user))}


@user_loaded_from_cookie.connect
def _new_csrf_secret(_app: object, user: User) -> None:
    """A login restored from "keep me logged in" happens inside whatever session the browser
    had; like any login (see ``_log_in``), it must not keep that session's CSRF secret."""
    session.pop("csrf_token", None)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    ident, _, version = user_id.partition(":")
    if not ident.isdigit():
        return None
    user = db.session.get(User, int(ident))
    if user is None or not user.is_active or str(user.session_version) != version:
        return None
    return user


def _login_view_message() -> None:
    login_manager.login_view = "users.login"
    login_manager.login_message = None


_login_view_message()


#: ID numbers already registered to others that one client address, or one account, may
#: enter per window: enough for the owner to learn they must ask for help, too few to
#: find out who trains here by trying numbers.
ID_NUMBERS_TAKEN_LIMIT = 5
ID_NUMBERS_TAKEN_WINDOW = timedelta(hours=1)


def _taken_keys(user: User | None = None) -> list[str]:
    keys = [f"id-number-taken:address:{request.remote_addr}"]
    if user is not None:
        keys.append(f"id-number-taken:user:{user.id}")
    return keys


def _take_id_attempt(form, keys: list[str]) -> bool:
    """Before an ID number entered in ``form`` is checked, take one answer from each key's
    ration, committed so parallel requests count one after another; ``False`` (the field
    says why) when one is used up."""
    if not form.resident_id.data:
        return True
    if all(throttle.take(k, limit=ID_NUMBERS_TAKEN_LIMIT, window=ID_NUMBERS_TAKEN_WINDOW)
           for k in keys):
        db.session.commit()
        return True
    db.session.rollback()
    form.resident_id.errors = [*form.resident_id.errors, _(
        "Too many ID numbers registered to other accounts were entered. Try again in an "
        "hour, or leave the ID number out for now and add it later in your profile.")]
    return False


def _give_back_id_attempt(form, keys: list[str]) -> None:
    """The ID number was not found taken: its answer told nobody anything."""
    if form.resident_id.data:
        for key in keys:
            throttle.give_back(key)


@public
def register() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("web.dashboard"))
    form = RegistrationForm()
    if request.method == "GET":
        form.locale.data = request.cookies.get("lms_lang") or None
    keys = _taken_keys()
    if form.validate_on_submit() and _take_id_attempt(form, keys):
        try:
            user = operations.register_learner(
                real_name=form.real_name.data, contact=form.contact.data,
                password=form.password.data, locale=form.locale.data,
                resident_id=form.resident_id.data or None)
        except ResidentIdTaken as err:
            err.report(form)  # the answer given stays counted
        except UserError as err:
            err.report(form)
            _give_back_id_attempt(form, keys)
            db.session.commit()
        else:
            _give_back_id_attempt(form, keys)
            db.session.commit()
            _log_in(user)
            flash(_("Welcome to Yonten! Your account is ready."), "success")
            return redirect(url_for("web.dashboard"))
    return render_template("users/register.html", form=form)


@public
def login() -> str | Response:
    form = LoginForm()
    if form.validate_on_submit():
        outcome = operations.authenticate(form.contact.data, form.password.data)
        db.session.commit()  # failed attempts are counted even when the login fails
        if outcome.user is not None:
            _log_in(outcome.user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next"), "web.dashboard"))
        form.form_errors.append(outcome.message)
    return render_template("users/login.html", form=form)


def _log_in(user: User, *, remember: bool = False) -> None:
    """Log in on a new session: nothing from before the login, its CSRF secret least of all.

    Otherwise whoever planted a session cookie in the browser beforehand
    would know the logged-in session's CSRF token.
    """
    session.clear()
    chosen = request.cookies.get(LANG_COOKIE) if request.cookies.get(CHOSEN_LANGUAGE) else None
    if chosen in LOCALES and chosen != user.locale:
        # Chosen on the login page a moment ago: the person wants it, not last year's setting.
        user.locale = chosen
        db.session.commit()
    login_user(user, remember=remember)


@login_required
def logout() -> Response:
    session.clear()  # before logout_user, which asks (in the session) to clear the remember cookie
    logout_user()
    flash(_("You have logged out."), "success")
    return redirect(url_for("web.home"))


@login_required
def profile() -> str | Response:
    form = ProfileForm(obj=current_user)
    if request.method == "GET":
        form.resident_id.data = ""
    keys = _taken_keys(current_user)
    if form.validate_on_submit() and _take_id_attempt(form, keys):
        try:
            operations.update_profile(current_user, real_name=form.real_name.data,
                                      locale=form.locale.data,
                                      resident_id=form.resident_id.data or None)
        except ResidentIdTaken as err:
            err.report(form)  # the answer given stays counted
        except UserError as err:
            err.report(form)
            _give_back_id_attempt(form, keys)
            db.session.commit()
        else:
            _give_back_id_attempt(form, keys)
            db.session.commit()
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("users.profile"))
    return render_template("users/profile.html", form=form)


@login_required
def change_password() -> str | Response:
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            operations.change_password(current_user, form.current.data, form.password.data)
        except UserError as err:
            db.session.rollback()
            err.attach_to(form)
        else:
            db.session.commit()
            login_user(current_user._get_current_object())  # this session stays; others end
            flash(_("Your password is changed. Other devices have been logged out."), "success")
            return redirect(url_for("users.profile"))
    return render_template("users/password.html", form=form)


# --- administration ---------------------------------------------------------

@roles_required(*ADMIN_ROLES)
def admin_users() -> str:
    page = db.paginate(users_visible_to(current_user, role=request.args.get("role") or None),
                       request.args.get("page", 1, type=int), 30)
    return render_template("users/admin_users.html", page=page, roles=list(Role),
                           role=request.args.get("role", ""),
                           can_manage=lambda u: permissions.can_manage_user(current_user, u))


def _staff_form() -> StaffForm:
    form = StaffForm()
    institutions = db.session.scalars(institutions_visible_to(current_user)).all()
    form.set_choices(permissions.assignable_roles(current_user), institutions)
    return form


@roles_required(*ADMIN_ROLES)
def admin_user_new() -> str | Response:
    form = _staff_form()
    if request.method == "GET" and current_user.institution_id:
        form.institution_id.data = current_user.institution_id
    if form.validate_on_submit():
        institution = db.session.get(Institution, form.institution_id.data or 0)
        try:
            user = operations.create_staff(
                current_user, role=Role(form.role.data), institution=institution,
                real_name=form.real_name.data, contact=form.contact.data,
                password=form.password.data, locale=form.locale.data)
        except UserError as err:
            db.session.rollback()
            err.attach_to(form)
        else:
            db.session.commit()
            flash(_("The account for %(name)s is ready.", name=user.real_name), "success")
            return redirect(url_for("users.admin_users"))
    return render_template("users/admin_user_new.html", form=form)


def _managed_user(user_id: int) -> User:
    user = db.get_or_404(User, user_id)
    if not permissions.can_manage_user(current_user, user):
        abort(403)
    return user


@roles_required(*ADMIN_ROLES)
def admin_user_active(user_id: int) -> Response:
    user = _managed_user(user_id)
    active = request.form.get("active") == "1"
    operations.set_active(current_user, user, active)
    db.session.commit()
    flash(_("The account is switched on.") if active else _("The account is switched off."),
          "success")
    return redirect(url_for("users.admin_users"))


@roles_required(*ADMIN_ROLES)
def admin_user_password(user_id: int) -> str | Response:
    """An administrator sets a new password for someone who forgot theirs."""
    user = _managed_user(user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        operations.reset_password(current_user, user, form.password.data)
        db.session.commit()
        flash(_("The new password for %(name)s is set. Other devices are logged out.",
                name=user.real_name), "success")
        return redirect(url_for("users.admin_users"))
    return render_template("users/admin_user_password.html", form=form, user=user)


@roles_required(*ADMIN_ROLES)
def admin_institutions() -> str:
    institutions = db.session.scalars(institutions_visible_to(current_user)).all()
    return render_template("users/admin_institutions.html", institutions=institutions,
                           can_edit=permissions.can_edit_institution(current_user))


@roles_required(Role.REGIONAL_ADMIN)
def admin_institution_edit(institution_id: int | None = None) -> str | Response:
    institution = db.get_or_404(Institution, institution_id) if institution_id else None
    form = InstitutionForm(obj=institution)
    if institution is not None and request.method == "GET":
        form.kind.data = institution.kind.value
    if form.validate_on_submit():
        fields = form_values(form)
        try:
            institution = operations.save_institution(current_user, institution, **fields)
        except UserError as err:
            db.session.rollback()
            err.attach_to(form)
        else:
            db.session.commit()
            flash(_("The institution is saved."), "success")
            return redirect(url_for("users.admin_institutions"))
    return render_template("users/admin_institution_edit.html", form=form,
                           institution=institution)
