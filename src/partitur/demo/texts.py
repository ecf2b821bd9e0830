"""Template-based customer texts in German and English with a known sentiment.

Support tickets, product reviews, NPS and CSAT comments are assembled from interchangeable
parts (greeting, core sentence for the topic and sentiment, detail, closing), filled with the
order, product and day counts of the event, so that texts vary while their sentiment label stays
true. The label travels with the event as ``properties.sentiment_label`` so that sentiment models
can be evaluated against it (it is the answer key: models must not read it as an input).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Sentiment = str  # "positive" | "neutral" | "negative"


@dataclass(frozen=True)
class Text:
    subject: str
    body: str
    language: str
    sentiment: Sentiment


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


# --- support tickets ---------------------------------------------------------------------------

_GREETING = {
    "de": ("Hallo,", "Guten Tag,", "Hallo zusammen,", "Sehr geehrte Damen und Herren,", "Hi,", ""),
    "en": ("Hello,", "Hi there,", "Dear Nordhafen team,", "Hi,", "Good morning,", ""),
}

_CLOSING = {
    "de": ("Viele Grüße", "Mit freundlichen Grüßen", "Danke im Voraus!", "Gruß", "LG", ""),
    "en": ("Kind regards", "Thanks in advance", "Best wishes", "Cheers", "Regards", ""),
}

#: (topic, sentiment) -> core sentences; {order}, {product}, {days} are filled in.
_TICKET_CORE: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {
    ("delivery_delay", "negative"): {
        "de": (
            "meine Bestellung {order} ist seit {days} Tagen überfällig und niemand meldet sich.",
            "ich warte jetzt schon {days} Tage auf {product}. Das ist wirklich ärgerlich.",
            "die Sendungsverfolgung für {order} zeigt seit {days} Tagen keinen Fortschritt. "
            "So etwas habe ich noch nie erlebt.",
            "die Lieferung von {order} wurde schon zweimal verschoben, langsam reicht es mir.",
        ),
        "en": (
            "my order {order} is {days} days late and nobody has got back to me.",
            "I have been waiting {days} days for the {product}. This is really frustrating.",
            "tracking for {order} has not moved in {days} days. Terrible experience so far.",
            "the delivery of {order} was postponed twice now and I am running out of patience.",
        ),
    },
    ("delivery_delay", "neutral"): {
        "de": (
            "können Sie mir sagen, wann Bestellung {order} ankommt?",
            "ich wollte nach dem Lieferstatus von {order} fragen.",
            "gibt es ein neues Lieferdatum für {product}?",
        ),
        "en": (
            "could you tell me when order {order} will arrive?",
            "I wanted to check the delivery status of {order}.",
            "is there an updated delivery date for the {product}?",
        ),
    },
    ("damaged_item", "negative"): {
        "de": (
            "{product} kam beschädigt an, die Verpackung war komplett eingedrückt.",
            "das Gerät aus Bestellung {order} ist defekt und lässt sich nicht einschalten. "
            "Sehr enttäuschend.",
            "bei {product} fehlen Teile und das Gehäuse hat einen Riss. So nicht!",
        ),
        "en": (
            "the {product} arrived damaged, the box was completely crushed.",
            "the item from order {order} is broken and will not switch on. Very disappointing.",
            "parts of the {product} are missing and the casing is cracked. Not acceptable.",
        ),
    },
    ("damaged_item", "neutral"): {
        "de": (
            "an {product} ist ein kleiner Kratzer. Kann ich das umtauschen?",
            "ein Teil aus Bestellung {order} ist leicht beschädigt, wie gehe ich vor?",
        ),
        "en": (
            "there is a small scratch on the {product}. Can I exchange it?",
            "one item in order {order} is slightly damaged, what should I do?",
        ),
    },
    ("return_refund", "negative"): {
        "de": (
            "ich habe {product} vor {days} Tagen zurückgeschickt und noch kein Geld erhalten.",
            "die Erstattung für {order} fehlt immer noch. Ich bin wirklich verärgert.",
        ),
        "en": (
            "I returned the {product} {days} days ago and still have not been refunded.",
            "the refund for {order} is still missing. I am really annoyed.",
        ),
    },
    ("return_refund", "neutral"): {
        "de": (
            "wie kann ich {product} aus Bestellung {order} zurückgeben?",
            "ich möchte {product} umtauschen, bitte schicken Sie mir ein Retourenlabel.",
            "bis wann kann ich Bestellung {order} zurücksenden?",
        ),
        "en": (
            "how do I return the {product} from order {order}?",
            "I would like to exchange the {product}, please send me a return label.",
            "what is the deadline to send back order {order}?",
        ),
    },
    ("payment_issue", "negative"): {
        "de": (
            "mir wurde Bestellung {order} doppelt abgebucht! Bitte sofort korrigieren.",
            "die Zahlung ist fehlgeschlagen, aber das Geld ist trotzdem weg. Unmöglich.",
        ),
        "en": (
            "I was charged twice for order {order}! Please fix this immediately.",
            "the payment failed but the money was taken anyway. Unbelievable.",
        ),
    },
    ("payment_issue", "neutral"): {
        "de": (
            "kann ich Bestellung {order} auch per Rechnung bezahlen?",
            "meine Kreditkarte wurde abgelehnt, welche Zahlungsarten gibt es noch?",
        ),
        "en": (
            "can I pay for order {order} by invoice?",
            "my card was declined, which other payment methods do you accept?",
        ),
    },
    ("account_login", "negative"): {
        "de": (
            "ich kann mich seit heute Morgen nicht mehr in der App anmelden. Nichts funktioniert!",
            "die App stürzt bei jedem Login ab, ich komme nicht an meine Bestellungen.",
            "Login geht seit Stunden nicht, Fehlermeldung bei jedem Versuch. Sehr ärgerlich.",
        ),
        "en": (
            "I cannot log in to the app since this morning. Nothing works!",
            "the app crashes every time I try to log in and I cannot see my orders.",
            "login has been failing for hours with an error every time. Really annoying.",
        ),
    },
    ("account_login", "neutral"): {
        "de": (
            "wie ändere ich die E-Mail-Adresse in meinem Kundenkonto?",
            "ich habe mein Passwort vergessen, der Link kommt nicht an.",
        ),
        "en": (
            "how do I change the email address on my account?",
            "I forgot my password and the reset link does not arrive.",
        ),
    },
    ("product_question", "neutral"): {
        "de": (
            "ist {product} auch in einer anderen Größe erhältlich?",
            "passt {product} zu meinem Modell vom letzten Jahr?",
            "wann ist {product} wieder auf Lager?",
        ),
        "en": (
            "is the {product} available in another size?",
            "is the {product} compatible with last year's model?",
            "when will the {product} be back in stock?",
        ),
    },
    ("product_question", "positive"): {
        "de": (
            "ich bin begeistert von {product} und überlege, ein zweites zu kaufen. "
            "Gibt es Mengenrabatt?",
        ),
        "en": (
            "I love the {product} and am thinking of buying a second one. "
            "Is there a bundle discount?",
        ),
    },
    ("praise", "positive"): {
        "de": (
            "vielen Dank für die schnelle Hilfe, {product} ist super angekommen!",
            "ich wollte nur sagen: toller Service, die Lieferung kam einen Tag früher.",
            "Ihr Kundenservice war wirklich großartig, danke für die unkomplizierte Erstattung.",
        ),
        "en": (
            "thank you for the quick help, the {product} arrived in perfect condition!",
            "just wanted to say: great service, the delivery came a day early.",
            "your support team was brilliant, thanks for the easy refund.",
        ),
    },
}

_TICKET_DETAIL = {
    ("de", "negative"): (
        "Ich erwarte eine schnelle Lösung.",
        "Sonst storniere ich meine Bestellung.",
        "Das war das letzte Mal, dass ich hier bestelle.",
        "Bitte melden Sie sich umgehend.",
        "",
    ),
    ("de", "neutral"): ("Danke für eine kurze Info.", "Ich freue mich auf Ihre Antwort.", ""),
    ("de", "positive"): ("Macht weiter so!", "Ich empfehle Sie gerne weiter.", ""),
    ("en", "negative"): (
        "I expect this to be sorted quickly.",
        "Otherwise I will cancel my order.",
        "This is the last time I order from you.",
        "Please get back to me urgently.",
        "",
    ),
    ("en", "neutral"): ("Thanks for letting me know.", "Looking forward to your reply.", ""),
    ("en", "positive"): ("Keep up the great work!", "I will happily recommend you.", ""),
}

_TICKET_SUBJECT = {
    "delivery_delay": ("Wo bleibt meine Bestellung?", "Where is my order?"),
    "damaged_item": ("Artikel beschädigt", "Item arrived damaged"),
    "return_refund": ("Rücksendung / Erstattung", "Return and refund"),
    "payment_issue": ("Problem mit der Zahlung", "Payment problem"),
    "account_login": ("Anmeldung nicht möglich", "Cannot log in"),
    "product_question": ("Frage zum Produkt", "Product question"),
    "praise": ("Danke!", "Thank you!"),
}


def ticket_sentiments(topic: str) -> tuple[Sentiment, ...]:
    """The sentiments a ticket about ``topic`` can have."""
    return tuple(s for (t, s) in _TICKET_CORE if t == topic)


def support_ticket(
    rng: np.random.Generator,
    *,
    topic: str,
    sentiment: Sentiment,
    language: str,
    order_id: str,
    product: str,
    days: int,
    name: str,
) -> Text:
    """A ticket text about ``topic`` with the given sentiment (must exist for the topic)."""
    core = _pick(rng, _TICKET_CORE[(topic, sentiment)][language]).format(
        order=order_id, product=product, days=days
    )
    parts = [_pick(rng, _GREETING[language]), core[0].upper() + core[1:]]
    detail = _pick(rng, _TICKET_DETAIL[(language, sentiment)])
    if detail:
        parts.append(detail)
    closing = _pick(rng, _CLOSING[language])
    if closing:
        parts.append(f"{closing}\n{name}")
    subject = _TICKET_SUBJECT[topic][0 if language == "de" else 1]
    return Text(subject, "\n".join(p for p in parts if p), language, sentiment)


# --- reviews -----------------------------------------------------------------------------------

_REVIEW = {
    ("de", "positive"): (
        "Absolut empfehlenswert, {product} ist jeden Cent wert.",
        "Top Qualität und schnelle Lieferung. Gerne wieder!",
        "Ich bin sehr zufrieden, {product} übertrifft meine Erwartungen.",
        "Super verarbeitet, sieht genauso aus wie auf den Bildern.",
        "Nutze {product} jeden Tag, bisher keinerlei Probleme. Klare Kaufempfehlung.",
    ),
    ("de", "neutral"): (
        "Ganz okay für den Preis, aber nichts Besonderes.",
        "{product} erfüllt seinen Zweck, die Anleitung könnte besser sein.",
        "Solide, allerdings etwas kleiner als erwartet.",
        "In Ordnung. Die Lieferung hat etwas länger gedauert.",
    ),
    ("de", "negative"): (
        "Leider enttäuschend, {product} ist nach zwei Wochen kaputt gegangen.",
        "Schlechte Qualität, fühlt sich billig an. Geht zurück.",
        "Nicht wie beschrieben und der Kundenservice hilft nicht weiter.",
        "Finger weg! {product} funktioniert nicht richtig.",
    ),
    ("en", "positive"): (
        "Absolutely love it, the {product} is worth every penny.",
        "Great quality and fast delivery. Would buy again!",
        "Really happy with the {product}, it exceeded my expectations.",
        "Beautifully made and looks exactly like the photos.",
        "I use the {product} every day with no issues at all. Highly recommended.",
    ),
    ("en", "neutral"): (
        "Fine for the price, but nothing special.",
        "The {product} does the job, the instructions could be clearer.",
        "Decent, though a bit smaller than expected.",
        "It's okay. Delivery took a little longer than promised.",
    ),
    ("en", "negative"): (
        "Really disappointing, the {product} broke after two weeks.",
        "Poor quality, feels cheap. Sending it back.",
        "Not as described and customer service was no help.",
        "Avoid! The {product} does not work properly.",
    ),
}

_REVIEW_TITLE = {
    ("de", "positive"): ("Begeistert!", "Sehr gut", "Klare Empfehlung", "Perfekt"),
    ("de", "neutral"): ("Okay", "Geht so", "Solide"),
    ("de", "negative"): ("Enttäuscht", "Nicht zu empfehlen", "Mangelhaft"),
    ("en", "positive"): ("Love it!", "Excellent", "Highly recommend", "Perfect"),
    ("en", "neutral"): ("Okay", "Average", "Decent"),
    ("en", "negative"): ("Disappointed", "Would not recommend", "Poor quality"),
}


def rating_sentiment(stars: int) -> Sentiment:
    """Stars 4-5 are positive, 3 neutral, 1-2 negative."""
    return "positive" if stars >= 4 else ("neutral" if stars == 3 else "negative")


def review(rng: np.random.Generator, *, stars: int, language: str, product: str) -> Text:
    sentiment = rating_sentiment(stars)
    body = _pick(rng, _REVIEW[(language, sentiment)]).format(product=product)
    if rng.random() < 0.4:
        extra = _pick(rng, _REVIEW[(language, sentiment)]).format(product=product)
        if extra != body:
            body = f"{body} {extra}"
    title = _pick(rng, _REVIEW_TITLE[(language, sentiment)])
    return Text(title, body, language, sentiment)


# --- survey comments ---------------------------------------------------------------------------

_NPS_COMMENT = {
    ("de", "positive"): (
        "Schnelle Lieferung und super Auswahl.",
        "Der Kundenservice ist klasse, immer freundlich.",
        "Einfach bestellen, einfach zurückgeben. Perfekt.",
        "Ich kaufe fast alles hier, sehr zuverlässig.",
    ),
    ("de", "neutral"): (
        "Im Großen und Ganzen zufrieden, die Preise könnten besser sein.",
        "Gut, aber die App ist manchmal langsam.",
        "Lieferung okay, Auswahl könnte größer sein.",
    ),
    ("de", "negative"): (
        "Lieferungen kommen ständig zu spät.",
        "Der Support antwortet nicht, sehr frustrierend.",
        "Rückerstattung hat ewig gedauert, nie wieder.",
        "Die App funktioniert oft nicht, ich bin genervt.",
    ),
    ("en", "positive"): (
        "Fast delivery and a great selection.",
        "Customer service is excellent, always friendly.",
        "Easy to order, easy to return. Perfect.",
        "I buy almost everything here, very reliable.",
    ),
    ("en", "neutral"): (
        "Mostly happy, prices could be better.",
        "Good, but the app is sometimes slow.",
        "Delivery was fine, the range could be bigger.",
    ),
    ("en", "negative"): (
        "Deliveries are constantly late.",
        "Support never answers, very frustrating.",
        "The refund took forever, never again.",
        "The app keeps failing and it drives me mad.",
    ),
}

_CSAT_COMMENT = {
    ("de", "positive"): (
        "Problem schnell gelöst, danke!",
        "Sehr freundliche Beratung.",
        "Top, alles geklärt.",
    ),
    ("de", "neutral"): ("Hat etwas gedauert, aber jetzt passt es.", "Okay."),
    ("de", "negative"): (
        "Mein Problem ist immer noch nicht gelöst.",
        "Ich musste dreimal nachfragen, schlechter Service.",
        "Unfreundlich und langsam.",
    ),
    ("en", "positive"): (
        "Sorted quickly, thank you!",
        "Very friendly help.",
        "Great, all resolved.",
    ),
    ("en", "neutral"): ("Took a while but it's fine now.", "Okay."),
    ("en", "negative"): (
        "My problem is still not solved.",
        "I had to chase three times, poor service.",
        "Unhelpful and slow.",
    ),
}


def nps_sentiment(score: int) -> Sentiment:
    """Promoters (9-10) positive, passives (7-8) neutral, detractors (0-6) negative."""
    return "positive" if score >= 9 else ("neutral" if score >= 7 else "negative")


def csat_sentiment(score: int) -> Sentiment:
    return "positive" if score >= 4 else ("neutral" if score == 3 else "negative")


def nps_comment(rng: np.random.Generator, *, score: int, language: str) -> Text:
    sentiment = nps_sentiment(score)
    return Text("", _pick(rng, _NPS_COMMENT[(language, sentiment)]), language, sentiment)


def csat_comment(rng: np.random.Generator, *, score: int, language: str) -> Text:
    sentiment = csat_sentiment(score)
    return Text("", _pick(rng, _CSAT_COMMENT[(language, sentiment)]), language, sentiment)
