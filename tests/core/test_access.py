"""Every route declares who may use it, and undeclared routes are refused."""

from __future__ import annotations

from flask import Blueprint

from lms.core.access import access_rule


def test_every_route_declares_an_access_rule(app):
    undeclared = [rule.rule for rule in app.url_map.iter_rules()
                  if access_rule(app, rule.endpoint) is None]
    assert not undeclared, f"routes without an access rule: {undeclared}"


def test_a_route_without_a_rule_is_refused(base_config):
    from lms import create_app

    app = create_app(dict(base_config))
    bp = Blueprint("careless", __name__)
    bp.add_url_rule("/careless", "careless", lambda: "secret")
    app.register_blueprint(bp)
    with app.app_context():
        assert app.test_client().get("/careless").status_code == 403


def test_every_state_changing_route_accepts_only_post_with_csrf(app, client):
    # Every POST route refuses a request without a CSRF token.
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.arguments:
            continue
        response = client.post(rule.rule, data={}, csrf=False)
        assert response.status_code in (400, 302), (rule.rule, response.status_code)
        if response.status_code == 302:  # login first, then it would be 400
            assert "/account/login" in response.headers["Location"]
