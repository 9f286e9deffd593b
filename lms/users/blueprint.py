"""URL table of accounts and of the people-and-institutions administration."""

from flask import Blueprint

from lms.users import controllers as c
from lms.users import target_group_controllers as tg

bp = Blueprint("users", __name__, template_folder="templates")

bp.add_url_rule("/account/register", "register", c.register, methods=["GET", "POST"])
bp.add_url_rule("/account/login", "login", c.login, methods=["GET", "POST"])
bp.add_url_rule("/account/logout", "logout", c.logout, methods=["POST"])
bp.add_url_rule("/account/profile", "profile", c.profile, methods=["GET", "POST"])
bp.add_url_rule("/account/password", "change_password", c.change_password,
                methods=["GET", "POST"])

bp.add_url_rule("/admin/users/", "admin_users", c.admin_users)
bp.add_url_rule("/admin/users/new", "admin_user_new", c.admin_user_new, methods=["GET", "POST"])
bp.add_url_rule("/admin/users/<int:user_id>/active", "admin_user_active", c.admin_user_active,
                methods=["POST"])
bp.add_url_rule("/admin/users/<int:user_id>/password", "admin_user_password",
                c.admin_user_password, methods=["GET", "POST"])
bp.add_url_rule("/admin/institutions/", "admin_institutions", c.admin_institutions)
bp.add_url_rule("/admin/institutions/new", "admin_institution_new", c.admin_institution_edit,
                methods=["GET", "POST"])
bp.add_url_rule("/admin/institutions/<int:institution_id>", "admin_institution_edit",
                c.admin_institution_edit, methods=["GET", "POST"])
bp.add_url_rule("/admin/learners/<int:user_id>/target-groups", "target_groups", tg.target_groups,
                methods=["GET", "POST"])
