"""URL table of search."""

from flask import Blueprint

from lms.search import controllers

bp = Blueprint("search", __name__, template_folder="templates")

bp.add_url_rule("/search/", "results", controllers.results)
