"""Public campaign pages: read, sign → check your email → confirm → signed; manage or withdraw."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from toolkit.caching import cache_publicly
from toolkit.campaigns.admin import bp as admin_bp
from toolkit.campaigns.counting import public_count
from toolkit.campaigns.forms import answers, build_signature_form, question_field
from toolkit.campaigns.models import Campaign, CampaignState, Signature
from toolkit.campaigns.notices import confirmation_row, send_manage_link
from toolkit.campaigns.rules import SigningRules, forget_signing_rules, signing_rules
from toolkit.campaigns.service import (
    get_campaign,
    list_open_campaigns,
    may_manage,
    signing_closed_reason,
)
from toolkit.campaigns.signing import (
    CONFIRM,
    MANAGE,
    SignerDetails,
    SigningError,
    TokenError,
    canonical_email,
    check_token,
    confirm,
    public_signatures,
    sign,
    update_details,
    withdraw,
)
from toolkit.contacts.directory import member_state_choices
from toolkit.extensions import csrf, db, limiter
from toolkit.i18n import CHOICES as LANGUAGE_CHOICES
from toolkit.i18n import current_language
from toolkit.mail.outbox import deliver_soon
from toolkit.markup import render_markdown
from toolkit.web import FRAMEABLE_POLICY

bp = Blueprint("campaigns", __name__)
bp.register_blueprint(admin_bp)


def _countries() -> list[tuple[str, str]]:
    return member_state_choices(db.session, current_language())


def _campaign_or_404(slug: str) -> Campaign:
    """A campaign the visitor may see: drafts only for their organizers."""
    campaign = get_campaign(db.session, slug)
    if campaign is None:
        abort(404, description=_("There is no campaign at this address."))
    if campaign.state == CampaignState.DRAFT and not may_manage(current_user, campaign):
        abort(404, description=_("There is no campaign at this address."))
    return campaign


def _campaign_key() -> str:
    return "campaign:" + (request.view_args or {}).get("slug", "")


def public_link(campaign: Campaign) -> str:
    """The campaign's address as people share it (BASE_URL, not whatever host was asked)."""
    path = url_for("campaigns.show", slug=campaign.slug)
    return current_app.config["BASE_URL"].rstrip("/") + path


def share_links(campaign: Campaign) -> list[tuple[str, str]]:
    """Plain links to share the campaign: no third-party script is ever loaded."""
    link, text = public_link(campaign), campaign.text_in(current_language()).title
    both = f"{text} {link}"
    return [
        (_("Email"), f"mailto:?subject={quote(text)}&body={quote(both)}"),
        ("WhatsApp", f"https://wa.me/?text={quote(both)}"),
        ("Telegram", f"https://t.me/share/url?url={quote(link)}&text={quote(text)}"),
        ("X", f"https://twitter.com/intent/tweet?url={quote(link)}&text={quote(text)}"),
        ("Facebook", f"https://www.facebook.com/sharer/sharer.php?u={quote(link)}"),
        ("LinkedIn", f"https://www.linkedin.com/sharing/share-offsite/?url={quote(link)}"),
    ]


def first_name(name: str) -> str:
    """What a petition shows of a signer: the first word of the name they gave."""
    return (name or "").split(maxsplit=1)[0] if (name or "").strip() else ""


def public_form(campaign: Campaign | SigningRules, **kwargs: object):  # noqa: ANN201 - a WTForms form
    """The signing form on the public page: no session token in it, so the page is the same
    for every anonymous reader and a cache in front can serve it (see ``_cross_site``)."""
    return build_signature_form(campaign, _countries(), meta={"csrf": False}, **kwargs)


def _cross_site() -> bool:
    """A browser says the form was sent from another site (Sec-Fetch-Site, else Origin).

    The signing form carries no session token (it is one page for everyone, cacheable), so
    this stands in for one, as OWASP describes: browsers send these headers on every POST and
    a page elsewhere cannot forge them. A client that sends neither (a script, an old
    browser) is let through: it could post without any page's help anyway.
    """
    site = request.headers.get("Sec-Fetch-Site", "")
    if site:
        return site not in ("same-origin", "none")
    origin = request.headers.get("Origin", "")
    if not origin:
        return False
    own = {_origin(request.host_url), _origin(current_app.config["BASE_URL"])}
    return _origin(origin) not in own


def _origin(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}".lower()


def cacheable(response: Response) -> Response:
    """Let a cache in front serve the public page a little while, stale while it refreshes
    and stale when the app is down (as the UK petitions site learned to); an ETag answers a
    repeated read with 304. Organizers who are logged in get their own page, never cached."""
    if current_user.is_authenticated:
        response.cache_control.private = True
        response.cache_control.no_cache = True
        return response
    response.vary.update(("Cookie", "Accept-Language"))  # the language comes from either
    return cache_publicly(response, int(current_app.config["PUBLIC_MAX_AGE"]))


def _page(campaign: Campaign, form, status: int = 200) -> tuple[str, int]:  # noqa: ANN001
    countries = dict(_countries())
    version = campaign.text_in(current_language())
    return render_template(
        "campaigns/show.html",
        campaign=campaign,
        form=form,
        count=public_count(db.session, campaign),
        signers=public_signatures(db.session, campaign, limit=50),
        countries=countries,
        first_name=first_name,
        share_links=share_links(campaign),
        link=public_link(campaign),
        closed_reason=signing_closed_reason(campaign),
        version=version,
        other_languages=[
            c
            for c in LANGUAGE_CHOICES
            if c.code in campaign.languages and c.code != version.language
        ],
        introduction=render_markdown(version.introduction),
        text=render_markdown(version.text),
    ), status


@bp.get("/campaigns/")
def index() -> str:
    """Open campaigns."""
    return render_template("campaigns/index.html", campaigns=list_open_campaigns(db.session))


@bp.get("/campaigns/<slug>")
def show(slug: str) -> Response:
    """The campaign: its text, its count, its public signers, and the form."""
    campaign = _campaign_or_404(slug)
    return cacheable(make_response(_page(campaign, public_form(campaign))))


@bp.get("/campaigns/<slug>/widget")
def widget(slug: str) -> Response:
    """A small page for other sites to frame: the count, the progress, a link to sign."""
    campaign = _campaign_or_404(slug)
    if campaign.state == CampaignState.DRAFT:
        abort(404, description=_("There is no campaign at this address."))
    html = render_template("campaigns/widget.html", campaign=campaign, link=public_link(campaign),
                           count=public_count(db.session, campaign))  # fmt: skip
    response = Response(html, mimetype="text/html")
    g.frameable = True  # any site may show it in an iframe
    response.headers["Content-Security-Policy"] = FRAMEABLE_POLICY
    return cacheable(response)


@bp.post("/campaigns/<slug>/sign")
@csrf.exempt  # the public form has no session token: see _cross_site
@limiter.limit(lambda: current_app.config["SIGN_LIMIT_PER_IP"], methods=["POST"])
@limiter.limit(lambda: current_app.config["SIGN_LIMIT_PER_CAMPAIGN"], methods=["POST"],
               key_func=_campaign_key)  # fmt: skip
def sign_view(slug: str) -> Response | tuple[str, int]:
    """Take a signature; the answer never tells whether this email had already signed.

    The busiest request in a surge: it works from this process's copy of the campaign's
    signing rules (``campaigns.rules``) and loads the campaign itself only to show a page.
    """
    rules = signing_rules(db.session, slug)
    if rules is None or rules.state == CampaignState.DRAFT:
        _campaign_or_404(slug)  # not found, except a draft's organizers: they see why below
    if _cross_site():
        message = _("This form was sent from another website. Open the campaign's own page "
                    "and sign there.")  # fmt: skip
        return render_template("errors/error.html", code=403, title=_("Not accepted"),
                               message=message), 403  # fmt: skip
    reason = signing_closed_reason(rules)
    if reason:
        return _closed(slug, reason)
    form = public_form(rules)
    if form.nickname.data:
        message = _("This looked like an automated submission, so it was not accepted.")
        return render_template("errors/error.html", code=400, title=_("Not accepted"),
                               message=message), 400  # fmt: skip
    if not form.validate():
        return _page(_campaign_or_404(slug), form, 422)
    details = SignerDetails(
        name=form.name.data,
        email=form.email.data,
        email_normalized=canonical_email(form.email.data),
        kind=form.kind.data,
        organization=form.organization.data if "organization" in form else "",
        role=form.role.data if "role" in form else "",
        city=form.city.data if "city" in form else "",
        country=form.country.data if "country" in form else "",
        list_publicly=form.list_publicly.data,
        receive_updates=form.receive_updates.data,
        language=current_language(),
        extra=answers(form, rules),
    )
    confirm_by_mail = rules.require_confirmation
    mail = [confirmation_row(rules, details.email)] if confirm_by_mail else []
    try:
        result = sign(db.session, rules, details, ip=request.remote_addr or "", mail=mail)
    except SigningError as exc:
        forget_signing_rules(slug)  # the database knew better than this process's copy
        return _closed(slug, str(exc))
    if result.created and confirm_by_mail:
        deliver_soon()
    elif not result.created:
        send_manage_link(result.signature)
    if result.created and not confirm_by_mail:
        return redirect(url_for("campaigns.signed", slug=slug))
    return redirect(url_for("campaigns.check_email", slug=slug))


def _closed(slug: str, reason: str) -> tuple[str, int]:
    """The campaign takes no signatures (now, or from this kind of signer): say why."""
    campaign = _campaign_or_404(slug)
    return render_template("campaigns/closed.html", campaign=campaign, reason=_(reason)), 409


@bp.get("/campaigns/<slug>/check-email")
def check_email(slug: str) -> str:
    """The same answer for a new signature and a repeated one, so nobody learns who signed."""
    return render_template("campaigns/check_email.html", campaign=_campaign_or_404(slug))


def _signature_from(slug: str, token: str, purpose: str) -> tuple[Campaign, Signature | None, str]:
    campaign = _campaign_or_404(slug)
    if len(token) > 300:
        return campaign, None, _("This link is not valid. Check that it was copied whole.")
    max_age = current_app.config[
        "SIGNATURE_CONFIRM_MAX_AGE" if purpose == CONFIRM else "SIGNATURE_MANAGE_MAX_AGE"
    ]
    try:
        signature = check_token(db.session, current_app.config["SECRET_KEY"], token, purpose,
                                max_age)  # fmt: skip
    except TokenError as exc:
        return campaign, None, _(str(exc))
    if signature.campaign_id != campaign.id:
        return campaign, None, _("This link is not valid. Check that it was copied whole.")
    return campaign, signature, ""


@bp.route("/campaigns/<slug>/confirm/<token>", methods=["GET", "POST"])
def confirm_view(slug: str, token: str) -> Response | str | tuple[str, int]:
    """Opening the link changes nothing (mail scanners open links); the button confirms."""
    campaign, signature, problem = _signature_from(slug, token, CONFIRM)
    if signature is None:
        return render_template("campaigns/link_problem.html", campaign=campaign,
                               message=problem), 400  # fmt: skip
    if request.method == "GET":
        return render_template("campaigns/confirm.html", campaign=campaign, signature=signature)
    try:
        confirm(signature)
    except TokenError as exc:
        return render_template("campaigns/link_problem.html", campaign=campaign,
                               message=_(str(exc))), 400  # fmt: skip
    db.session.commit()
    return redirect(url_for("campaigns.signed", slug=campaign.slug))


@bp.get("/campaigns/<slug>/signed")
def signed(slug: str) -> str:
    """Thank you, with the count and a way to share."""
    campaign = _campaign_or_404(slug)
    return render_template("campaigns/signed.html", campaign=campaign,
                           count=public_count(db.session, campaign))  # fmt: skip


@bp.route("/campaigns/<slug>/manage/<token>", methods=["GET", "POST"])
def manage(slug: str, token: str) -> Response | str | tuple[str, int]:
    """A signer updates their details or withdraws, from the link in any of our emails."""
    campaign, signature, problem = _signature_from(slug, token, MANAGE)
    if signature is None:
        return render_template("campaigns/link_problem.html", campaign=campaign,
                               message=problem), 400  # fmt: skip
    data = {name: getattr(signature, name) for name in
            ("name", "kind", "organization", "role", "city", "country", "list_publicly",
             "receive_updates")}  # fmt: skip
    for question in campaign.custom_fields or ():
        data[question_field(question)] = (signature.extra or {}).get(question["name"], "")
    form = build_signature_form(campaign, _countries(), data={**data, "email": signature.email})
    if request.method == "POST" and request.form.get("action") == "withdraw":
        withdraw(signature)
        db.session.commit()
        return render_template("campaigns/withdrawn.html", campaign=campaign)
    if request.method == "POST":
        form = build_signature_form(campaign, _countries())
        form.email.data = signature.email  # the email cannot be changed here
        if form.validate():
            update_details(signature, SignerDetails(
                name=form.name.data, email=signature.email,
                email_normalized=signature.email_normalized, kind=form.kind.data,
                organization=form.organization.data if "organization" in form else "",
                role=form.role.data if "role" in form else "",
                city=form.city.data if "city" in form else "",
                country=form.country.data if "country" in form else "",
                list_publicly=form.list_publicly.data, receive_updates=form.receive_updates.data,
                extra=answers(form, campaign),
            ))  # fmt: skip
            db.session.commit()
            return render_template("campaigns/manage.html", campaign=campaign, form=form,
                                   signature=signature, saved=True)  # fmt: skip
        return render_template("campaigns/manage.html", campaign=campaign, form=form,
                               signature=signature, saved=False), 422  # fmt: skip
    return render_template("campaigns/manage.html", campaign=campaign, form=form,
                           signature=signature, saved=False)  # fmt: skip


from toolkit.campaigns import dashboard, languages, paper, sending  # noqa: E402, F401 - they register routes
