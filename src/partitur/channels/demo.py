"""The channels part of the demo workspace: brand layout, templates (en + de) for the example
journeys, subscription groups and a webhook endpoint, so the demo's journeys publish and their
messages are delivered (email to the local SMTP sink of ``make run``)."""

from __future__ import annotations

from typing import Any

from partitur.channels import service
from partitur.channels.contracts import ProviderIn, SubscriptionGroupIn, TemplateIn
from partitur.context import Context
from partitur.core.actions import Actor

NAME = "{{ profile.first_name | default('there') }}"
_LINK = '<a href="{{ unsubscribe_url }}">%s</a>'
FOOTER = {
    "en": "<footer><small>Nordhafen · " + _LINK % "unsubscribe" + "</small></footer>",
    "de": "<footer><small>Nordhafen · " + _LINK % "abmelden" + "</small></footer>",
}
_PCT = "{{ discount_percent | default(10) }}%"
LAYOUT = (
    '<!doctype html><html><body style="font-family:sans-serif">'
    "<header><strong>Nordhafen</strong></header>{{ content }}{% include 'snippet:footer' %}"
    "</body></html>"
)

#: key -> channel, {locale: (subject, text)}; subjects of SMS/agent templates are titles
MESSAGES: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    "welcome": (
        "email",
        {
            "en": ("Welcome to Nordhafen, " + NAME, "Hi " + NAME + ", welcome to Nordhafen!"),
            "de": (
                "Willkommen bei Nordhafen, " + NAME,
                "Hallo " + NAME + ", willkommen bei Nordhafen!",
            ),
        },
    ),
    "getting-started-tips": (
        "email",
        {
            "en": ("Three tips to get started", "Hi " + NAME + ", here are three tips."),
            "de": ("Drei Tipps zum Start", "Hallo " + NAME + ", hier sind drei Tipps."),
        },
    ),
    "first-order-nudge": (
        "email",
        {
            "en": ("Your first order ships free", "Hi " + NAME + ", your first order ships free."),
            "de": (
                "Ihre erste Bestellung versandkostenfrei",
                "Hallo " + NAME + ", Ihre erste Bestellung ist versandkostenfrei.",
            ),
        },
    ),
    "cart-reminder": (
        "email",
        {
            "en": ("You left something in your cart", "Hi " + NAME + ", your cart is waiting."),
            "de": (
                "Sie haben etwas im Warenkorb vergessen",
                "Hallo " + NAME + ", Ihr Warenkorb wartet.",
            ),
        },
    ),
    "cart-discount-10": (
        "sms",
        {
            "en": (
                "",
                "Nordhafen: " + _PCT + " off your cart today. Reply STOP to opt out.",
            ),
            "de": (
                "",
                "Nordhafen: " + _PCT + " Rabatt auf Ihren Warenkorb. STOP zum Abmelden.",
            ),
        },
    ),
    "cart-reminder-sms": (
        "sms",
        {
            "en": ("", "Nordhafen: your cart is still waiting. Reply STOP to opt out."),
            "de": ("", "Nordhafen: Ihr Warenkorb wartet noch. STOP zum Abmelden."),
        },
    ),
    "winback-discount": (
        "email",
        {
            "en": ("We miss you, " + NAME + ": 15% off", "Come back for 15% off your next order."),
            "de": ("Wir vermissen Sie, " + NAME + ": 15% Rabatt", "Kommen Sie zurück: 15% Rabatt."),
        },
    ),
    "winback-free-shipping": (
        "email",
        {
            "en": ("Free shipping, just for you", "Free shipping on your next order."),
            "de": (
                "Kostenloser Versand für Sie",
                "Kostenloser Versand für Ihre nächste Bestellung.",
            ),
        },
    ),
    "csat-survey": (
        "email",
        {
            "en": ("How did we do?", "Hi " + NAME + ", please rate your recent experience."),
            "de": ("Wie waren wir?", "Hallo " + NAME + ", bitte bewerten Sie uns."),
        },
    ),
    "loan-offer-fixed-rate": (
        "email",
        {
            "en": ("Your fixed-rate mortgage offer", "A fixed rate for your new home."),
            "de": ("Ihr Festzins-Angebot", "Ein fester Zins für Ihr neues Zuhause."),
        },
    ),
    "loan-offer": (
        "email",
        {
            "en": ("Your mortgage offer", "An offer for your new home."),
            "de": ("Ihr Baufinanzierungsangebot", "Ein Angebot für Ihr neues Zuhause."),
        },
    ),
    "mortgage-advice": (
        "email",
        {
            "en": ("Talk to our mortgage advisers", "Book a free call with an adviser."),
            "de": ("Sprechen Sie mit unseren Beratern", "Buchen Sie ein kostenloses Gespräch."),
        },
    ),
    "outage-notice": (
        "sms",
        {
            "en": (
                "Service notice",
                "Nordhafen: we are aware of an outage in your area and are working on it.",
            ),
            "de": (
                "Störungsmeldung",
                "Nordhafen: Wir kennen die Störung in Ihrer Region und arbeiten daran.",
            ),
        },
    ),
    "outage-resolved": (
        "sms",
        {
            "en": (
                "Service restored",
                "Nordhafen: the outage is resolved. Thank you for your patience.",
            ),
            "de": ("Störung behoben", "Nordhafen: Die Störung ist behoben. Danke für Ihre Geduld."),
        },
    ),
    "winback-call": (
        "agent_task",
        {"en": ("Win-back call: " + NAME, "Call the customer; offer free shipping or 15%.")},
    ),
    "csat-recovery": (
        "agent_task",
        {"en": ("Recover a low CSAT: " + NAME, "Call within 24 h, apologise, solve the issue.")},
    ),
    "mortgage-lead": (
        "agent_task",
        {"en": ("Mortgage lead: " + NAME, "Interested in mortgages; book an adviser call.")},
    ),
    "premium-callback": (
        "agent_task",
        {"en": ("Premium customer ticket: " + NAME, "Call back within the hour; specialist.")},
    ),
    "at-risk-callback": (
        "agent_task",
        {"en": ("At-risk customer ticket: " + NAME, "Churn risk or unhappy: call back today.")},
    ),
    "ticket-escalation": (
        "agent_task",
        {"en": ("Ticket open for 2 days: " + NAME, "Take over the ticket and solve it today.")},
    ),
    "ticket-self-service": (
        "email",
        {
            "en": (
                "We have your request",
                "Hi " + NAME + ", we are on it. Most answers are in our help centre.",
            ),
            "de": (
                "Wir haben Ihre Anfrage erhalten",
                "Hallo " + NAME + ", wir kümmern uns. Viele Antworten finden Sie im Hilfe-Center.",
            ),
        },
    ),
    "outage-follow-up": (
        "agent_task",
        {"en": ("Outage follow-up: " + NAME, "Check the customer is back online.")},
    ),
}


#: the service messages of the demo's transactional journeys (outage, care, surveys): an admin
#: marks them transactional, so their sends need no marketing consent
TRANSACTIONAL = {
    "csat-survey",
    "csat-recovery",
    "outage-notice",
    "outage-follow-up",
    "outage-resolved",
    "premium-callback",
    "at-risk-callback",
    "ticket-escalation",
    "ticket-self-service",
}


def setup_channels(ctx: Context, report: Any) -> None:
    """Create what is missing: layout, footer snippets, templates, groups, webhook endpoint."""
    now = ctx.clock.now()
    saved = 0
    with ctx.store.begin() as conn:
        have = {
            (t.kind, t.key, t.locale)
            for t in service.list_templates(conn, workspace_id=ctx.workspace_id)
        }
        wanted: list[TemplateIn] = [TemplateIn(key="brand", kind="layout", body_html=LAYOUT)]
        wanted += [
            TemplateIn(key="footer", kind="snippet", locale=loc, body_html=html)
            for loc, html in FOOTER.items()
        ]
        for key, (channel, variants) in MESSAGES.items():
            for locale, (subject, text) in variants.items():
                html = f"<p>{text}</p>" if channel == "email" else None
                wanted.append(
                    TemplateIn(
                        key=key,
                        channel=channel,  # type: ignore[arg-type]
                        locale=locale,
                        subject=subject or None,
                        body_text=text,
                        body_html=html,
                        layout="brand" if html else None,
                        transactional=key in TRANSACTIONAL,
                    )
                )
        for template in wanted:
            if (template.kind, template.key, template.locale) not in have:
                service.save_template(
                    conn,
                    workspace_id=ctx.workspace_id,
                    template=template,
                    now=now,
                    actor=Actor.system(ctx.workspace_id, "demo"),
                )
                saved += 1
        groups = {g.key for g in service.list_groups(conn, workspace_id=ctx.workspace_id)}
        for group in (
            SubscriptionGroupIn(
                key="newsletter", name="Newsletter", channel="email", double_opt_in=True
            ),
            SubscriptionGroupIn(key="offers", name="Offers", channel="email"),
            SubscriptionGroupIn(
                key="service-sms", name="Service notices", channel="sms", purpose="transactional"
            ),
        ):
            if group.key not in groups:
                service.create_group(
                    conn,
                    workspace_id=ctx.workspace_id,
                    group=group,
                    now=now,
                    actor=Actor.system(ctx.workspace_id, "demo"),
                )
        providers = {
            (p.channel, p.name) for p in service.list_providers(conn, workspace_id=ctx.workspace_id)
        }
        if ("webhook", "crm-lead-cold") not in providers:
            service.save_provider(
                conn,
                workspace_id=ctx.workspace_id,
                provider=ProviderIn(
                    channel="webhook",
                    name="crm-lead-cold",
                    kind="webhook",
                    config={
                        "url": ctx.settings.base_url.rstrip("/") + "/api/channels/webhook-sink",
                        "timeout": 5,
                    },
                    secrets={"signing_secret": "demo-signing-secret"},
                ),
                secret_key=ctx.settings.secret_key,
                now=now,
                actor=Actor.system(ctx.workspace_id, "demo"),
            )
    report.add("message templates", saved)
    report.note(
        "Delivered email lands in var/mail (make run's SMTP sink); messages: "
        "GET /api/channels/messages, agent tasks: GET /api/channels/tasks"
    )


DEMO_STEPS = [setup_channels]
