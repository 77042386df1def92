"""Emergency detection: every real-sounding emergency caught, ordinary reports left alone."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from normalizer.emergency import EmergencyPhrases, compile_phrases, detect_emergency
from tests.conftest import REPO_ROOT
from tests.normalizer.conftest import newport_rows, twilio_form

EMERGENCIES = [
    "I smell gas in the street on Burnside Ave, really strong",
    "strong gas smell coming from the manhole on Spring St",
    "There's a gas leak outside 12 Kay St, you can hear it hissing",
    "i think theres a gass leak by the school",
    "Smelled gas all morning near the corner of Thames and Mary",
    "the house next door is on fire!!!",
    "car fire on Memorial Blvd near the beach",
    "There is a fire in the dumpster behind the library, flames everywhere",
    "Heavy smoke coming out of the basement windows at 40 Pelham",
    "smoke pouring from a storm drain on Broadway",
    "Live wire down across the sidewalk on Bellevue Ave, sparking",
    "power line down on Harrison Ave after the storm, it's sparking",
    "downed power line lying in the road on Ocean Ave",
    "wires down on the street and a kid is standing near them",
    "a tree fell and took the power lines down, they are on the car",
    "Someone is hurt, a man fell into the open trench on Warner St",
    "person hurt on the cliff walk, fell on the rocks",
    "an elderly woman is injured on the broken sidewalk, she can't get up",
    "biker was hit by a car at the corner of Broadway and Farewell",
    "man not breathing on the bench at Washington Square",
    "guy is unconscious next to the bus stop",
    "child is bleeding badly after falling on the playground",
    "water flooding my basement from the main break, it's rising fast",
    "the water main burst and water is pouring into our house",
    "there was an explosion at the construction site on Spring St",
    "someone drowning off Easton's beach!!",
    "a dog is trapped inside a hot car",
    "strong smell of gas in the apartment hallway",
    "carbon monoxide alarm going off and people feel dizzy",
    "the wall of the old building collapsed onto the sidewalk",
    "huele a gas muy fuerte en la calle Spring",
    "hay una fuga de gas frente a mi casa",
    "Olor a gas en el edificio de la calle Kay, por favor vengan",
    "hay un incendio en la casa de al lado",
    "Fuego en el contenedor de basura detrás de la escuela",
    "sale mucho humo de una alcantarilla en Broadway",
    "hay un cable de luz caido en la banqueta y saltan chispas",
    "cables caidos en la calle despues de la tormenta",
    "hay una persona herida en la esquina, se cayó en el hoyo",
    "un hombre inconsciente en la parada del autobús",
    "un niño está sangrando, se cortó con la cerca rota",
    "el agua está inundando mi casa por la tubería rota",
    "hubo una explosion en la obra de la calle Thames",
    "alguien herido en el cruce, lo atropellaron",
]

NEGATED = [
    "no gas smell, just a pothole",
    "I don't smell gas anymore, the crew fixed it",
    "there is no fire, only the smoke detector chirping",
    "no hay olor a gas, solo un bache grande",
    "fire hydrant is leaking on Spring St",
    "the gas lanterns on the point are out",
]


@pytest.fixture(scope="module")
def phrases() -> EmergencyPhrases:
    with (REPO_ROOT / "config" / "emergency.toml").open("rb") as fh:
        return compile_phrases(tomllib.load(fh))


def test_list_is_large_enough() -> None:
    assert len(EMERGENCIES) >= 40


@pytest.mark.parametrize("text", EMERGENCIES)
def test_every_emergency_is_caught(text: str, phrases: EmergencyPhrases) -> None:
    assert detect_emergency(text, phrases) is not None


@pytest.mark.parametrize("text", NEGATED)
def test_negated_or_ordinary_phrases_are_not_emergencies(
    text: str, phrases: EmergencyPhrases
) -> None:
    assert detect_emergency(text, phrases) is None


def test_no_ordinary_newport_report_is_flagged(phrases: EmergencyPhrases) -> None:
    texts = [r["text"] for r in newport_rows()]
    assert len(texts) >= 200
    flagged = [t[:80] for t in texts if detect_emergency(t, phrases)]
    assert flagged == []


def test_gas_fixture_is_flagged_with_its_language(phrases: EmergencyPhrases) -> None:
    hit = detect_emergency(twilio_form("sms_gas_emergency.form")["Body"], phrases)
    assert hit is not None
    assert hit.language == "en"


def test_spanish_hit_reports_spanish(phrases: EmergencyPhrases) -> None:
    hit = detect_emergency("hay una fuga de gas", phrases)
    assert hit is not None
    assert hit.language == "es"


def test_negation_cancels_its_own_clause_only(phrases: EmergencyPhrases) -> None:
    assert detect_emergency("no one is hurt but the stop sign fell", phrases) is None
    hit = detect_emergency("no one is hurt but the garage is on fire", phrases)
    assert hit is not None
    assert "fire" in hit.phrase


def test_a_negated_vital_sign_of_a_person_is_an_emergency(phrases: EmergencyPhrases) -> None:
    hit = detect_emergency("um theres a guy on the sidewalk and he is not moving", phrases)
    assert hit is not None
    assert hit.rule == "person_lifeless"
    assert detect_emergency("my neighbor won't move his car off the street", phrases) is None
    assert detect_emergency("traffic is not moving on broadway", phrases) is None


def test_hypotheticals_and_the_past_are_not_emergencies(phrases: EmergencyPhrases) -> None:
    assert detect_emergency("please fix this before someone gets hurt", phrases) is None
    assert detect_emergency("there was a fire last year, the lot is still empty", phrases) is None
    assert detect_emergency("I think there might be a gas leak, it smells", phrases) is not None


def test_words_between_a_phrase_and_typos_are_forgiven(phrases: EmergencyPhrases) -> None:
    hit = detect_emergency("huele muchisimo a gas en la cocina", phrases)
    assert hit is not None
    assert hit.language == "es"
    assert detect_emergency("my neigbor is unconcious on the porch", phrases) is not None
    # A real word one letter from a lexicon word is not its typo: "walking" is not "waking".
    assert detect_emergency("we can't see kids walking, a crash waiting to happen", phrases) is None


def test_a_habitual_gas_smell_is_still_an_emergency(phrases: EmergencyPhrases) -> None:
    assert detect_emergency("every morning I smell gas near the school", phrases) is not None
    assert detect_emergency("the street floods every time it rains", phrases) is None


def test_a_phrase_list_without_rules_still_works() -> None:
    older = compile_phrases({"en": {"phrases": ["gas leak"], "ignore": [], "negations": ["no"]}})
    hit = detect_emergency("there is a gas leak on Spring St", older)
    assert hit is not None
    assert hit.phrase == "gas leak"
    assert detect_emergency("no gas leak here", older) is None


def test_a_rule_naming_an_unknown_concept_names_its_key() -> None:
    table: dict[str, Any] = {"rules": {"smoke_seen": {"all": ["smoke", "emitt"]}}, "en": {}}
    with pytest.raises(ValueError, match=r"rules\.smoke_seen: 'smoke' is not a concept|'emitt'"):
        compile_phrases(table)
