"""``kind: entity`` — mentions of named entities, by any of their names, optionally together.

Entities are declared once at the top of the detectors document
(``entities:``) and referred to by id, or inline. Each has its spellings
(Zelenskyy, Zelensky, Зеленський; a trailing ``*`` also takes inflected forms,
``Зеленськ*``), an optional ``country`` (used to join events on a country:
a leader speaks for one) and ``place: true`` to take every spelling the
gazetteer knows (Kyiv brings Kiev, Київ, Киев ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from detectors.base import (
    ALL_FIELDS,
    ArticleContext,
    BuildEnv,
    DetectorSpec,
    Finding,
    State,
    TextField,
    article_key,
)
from detectors.phrasebook import Hit, Phrasebook


class EntityDef(BaseModel):
    """A person, place or organisation and the ways it is written."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", description="Id detectors refer to.")
    names: tuple[str, ...] = Field(
        min_length=1,
        description=(
            "Spellings (`Zelenskyy`, `Zelensky`, `Зеленський`), the first shown in alerts; a trailing "
            "`*` also takes inflected forms (`Зеленськ*`)."
        ),
    )
    country: str | None = Field(None, description="ISO 3166 alpha-2 code of the entity's country.")
    place: bool = Field(
        False,
        description="Also every spelling the gazetteer knows for this place (Kyiv → Kiev, Київ, Киев …).",
    )

    @field_validator("country")
    @classmethod
    def _iso(cls, value: str | None) -> str | None:
        if value is None:
            return None
        import pycountry

        if pycountry.countries.get(alpha_2=value.upper()) is None:
            raise ValueError(f"{value!r} is not an ISO 3166 alpha-2 country code (UA, RU, US ...)")
        return value.upper()

    def spellings(self, env: BuildEnv) -> list[str]:
        extra = env.gazetteer.spellings(self.names[0]) if self.place else []
        return [*self.names, *extra]


def entity_book(entities: list[EntityDef], env: BuildEnv) -> Phrasebook:
    book = Phrasebook()
    for entity in entities:
        for name in entity.spellings(env):
            book.add(name, entity.id)
    return book.freeze()


def _ref_or_inline(value: Any) -> str:
    return "inline" if isinstance(value, dict | EntityDef) else "id"


# an entity by id or inline; tagged, so an error in an inline entity is reported as such
EntityRef = Annotated[
    Annotated[str, Tag("id")] | Annotated[EntityDef, Tag("inline")], Discriminator(_ref_or_inline)
]


class EntitySpec(DetectorSpec):
    """Fires when the article mentions the entities (any, or all of them: a co-mention)."""

    kind: Literal["entity"] = "entity"
    entities: tuple[EntityRef, ...] = Field(
        min_length=1, description="Entity ids from the document's `entities:`, or inline definitions."
    )
    match: Literal["any", "all"] = Field("any", description="`all`: every entity must be mentioned.")
    min_mentions: int = Field(1, ge=1, description="Mentions needed in all (of any of the entities).")
    fields: tuple[TextField, ...] = Field(ALL_FIELDS, description="Article fields searched.")

    def entity_ids(self) -> list[str]:
        return [e if isinstance(e, str) else e.id for e in self.entities]

    def build(self, env: BuildEnv) -> EntityDetector:
        resolved = []
        for entity in self.entities:
            if isinstance(entity, EntityDef):
                resolved.append(entity)
            elif entity in env.entities:
                resolved.append(env.entities[entity])
            else:
                raise ValueError(f"detector {self.id!r}: entity {entity!r} is not declared in `entities`")
        return EntityDetector(self, resolved, env)


class SharedBook:
    """One phrasebook for every entity of the document: one pass per article field for all detectors.

    It is also their gate: the detectors with an entity mentioned in a field they search.
    """

    def __init__(self, entities: list[EntityDef], env: BuildEnv) -> None:
        self.book = entity_book(entities, env)
        self._watchers: dict[tuple[str, str], set[str]] = {}  # (field, entity id) → detector ids
        self._fields: set[str] = set()

    def watch(self, detector_id: str, entity_ids: list[str], fields: tuple[str, ...]) -> None:
        for field in fields:
            self._fields.add(field)
            for entity in entity_ids:
                self._watchers.setdefault((field, entity), set()).add(detector_id)

    def hits(self, article: ArticleContext, field: str) -> list[Hit]:
        per_field = article.cache.get(self)  # the book itself is the key
        if per_field is None:
            per_field = article.cache[self] = {}
        hits = per_field.get(field)
        if hits is None:
            hits = per_field[field] = self.book.find(article.fields[field])
        return hits

    def candidates(self, article: ArticleContext) -> set[str]:
        key = (self, "candidates")
        found: set[str] | None = article.cache.get(key)
        if found is None:
            found = set()
            for field in self._fields:
                for hit in self.hits(article, field):
                    found |= self._watchers.get((field, str(hit.payload)), set())
            article.cache[key] = found
        return found


class EntityDetector:
    def __init__(self, spec: EntitySpec, entities: list[EntityDef], env: BuildEnv) -> None:
        self.spec = spec
        self.entities = {e.id: e for e in entities}
        documented = [e for e in entities if env.entities.get(e.id) == e]
        if len(documented) == len(entities):  # all declared at the top: share the document's book
            if "entities" not in env.shared:
                env.shared["entities"] = SharedBook(list(env.entities.values()), env)
            self.book: SharedBook = env.shared["entities"]
        else:  # inline entities: a book of its own (built now: the first article must not wait)
            self.book = SharedBook(entities, env)
        self.book.watch(spec.id, list(self.entities), spec.fields)
        self.gate: SharedBook = self.book

    def evaluate(self, article: ArticleContext, state: State, found: Mapping[str, Finding]) -> Finding | None:
        mentions: dict[str, list[list[object]]] = {}
        for name in self.spec.fields:
            text = article.fields[name].text
            for hit in self.book.hits(article, name):
                if hit.payload in self.entities:
                    mentions.setdefault(str(hit.payload), []).append(
                        [name, text[hit.start : hit.end], [hit.start, hit.end]]
                    )
        if not mentions:
            return None
        if self.spec.match == "all" and len(mentions) < len(self.entities):
            return None
        if sum(len(m) for m in mentions.values()) < self.spec.min_mentions:
            return None
        names = sorted(mentions)
        return Finding(
            detector_id=self.spec.id,
            key=article_key(article),
            group="|".join(names),
            evidence={
                "entities": {eid: self.entities[eid].names[0] for eid in names},
                "mentions": mentions,
            },
        )
