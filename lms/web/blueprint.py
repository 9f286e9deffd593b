"""URL table of the site's frame: home, dashboard, language switch, errors."""

from flask import Blueprint

from lms.web import controllers

bp = Blueprint("web", __name__, template_folder="templates", static_folder=None)

bp.add_url_rule("/", "home", controllers.home)
bp.add_url_rule("/dashboard", "dashboard", controllers.dashboard)
bp.add_url_rule("/language", "set_language", controllers.set_language, methods=["POST"])
bp.add_url_rule("/language/<any(bo,zh_Hans,en):locale>", "choose_language",
                controllers.choose_language)
bp.add_url_rule("/healthz", "health", controllers.health)

bp.record_once(controllers.install_app_hooks)
