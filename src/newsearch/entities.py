"""Rule-based named entities in French news: the people, places and organisations an article names.

The rules, in the order they apply:

1. Known entities (data/entites.txt) are found anywhere in the text, words in capitals having to be
   capitalised there too ("Le Monde" the paper, not "le monde"); short acronyms must match exactly.
2. Other candidates are runs of capitalised words, joined by particles (de, du, des, d', la, le, von, van,
   ben, el…) when a capitalised word follows: "Charles de Gaulle", "Côte d'Ivoire". A run is cut before a
   first name ("Paris Anne Hidalgo") and around acronyms ("RN Louis Aliot"). At a sentence start, common
   words (Le, Selon, Mais, Dans…) are dropped: a capital there says nothing.
3. A run is a place if the gazetteer (data/lieux.txt) has it; a person if it starts with a first name
   (data/prenoms.txt) and has more words, or follows a title (M., Mme, président, ministre, maire…); an
   organisation if it starts with a word like Parti, Banque, Fédération and has more words, follows a word
   like société or groupe, or is an acronym of 2 to 6 capitals; a place if it starts with Saint- or
   follows à, en, au, aux or "près de", "ville de"…
4. A lone word that is the surname of a person named in full elsewhere in the article is that person:
   "Emmanuel Macron" then "Macron" or "M. Macron" are one. A known surname alone becomes the known person
   ("Macron" is Emmanuel Macron) unless the article names another person of that surname in full.

Anything else is dropped: the rules favour precision over recall.

Precision, measured by reading the entities of 50 articles of the shared corpus drawn with seed 2026
(tests/test_entities.py writes them to test-artifacts/entities-sample.txt): people 91 right of 92
(99 %), places 117 of 128 (91 %), organisations 74 of 82 (90 %), 282 of 302 in all (93 %); "sénatrice
Agir", a party once taken for a person, is now the party. Counted
wrong: a truncated name ("George Abou" for George Abou Moussa), places that were part of another name ("France 5", "Aujourd'hui en France", "Maison de
l'Europe", the films "Paris, Texas" and "Vous n'aurez pas l'Alsace et la Lorraine", "Amérique" for
Amérique latine), newspapers and a philosopher after "au" or "à" ("au Figaro", "au Guardian", "à
Aristote"), acronyms that name things (LED, PAC, CAP, JLD, CHSCT), car models ("une Renault Clio").
Surnames alone ("Schraen" after "M. Schraen") and car makers ("27 modèles BMW") were counted right.
Recall was not measured; missed in the same sample: Argelès-sur-Mer, Lidl, Ford, Rivian, Notre-Dame,
Johnny Hallyday (first names not in the list and unknown companies without a cue are dropped).

A second sample, 40 articles drawn with seed 16 and labelled in bench/entity_labels.json (entity strings and
article ids only), is measured by bench/bench_entities.py: see bench/RESULTS.md.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .analysis import _MAY_HOLD_ACRONYM, _PLAIN_WORD, WORD_PATTERN, fold, strip_elision

DATA = Path(__file__).with_name("data")
MAX_PER_TYPE = 10
PERSON, PLACE, ORG = "personnes", "lieux", "organisations"
TYPES = (PERSON, PLACE, ORG)

_TOKEN_RE = re.compile(rf"{WORD_PATTERN}|[^\w\s]")
_SPLIT_RE = re.compile(f"({_TOKEN_RE.pattern})")
# The same without the dotted-acronym branch, for texts where it cannot match (analysis._MAY_HOLD_ACRONYM).
_SPLIT_PLAIN_RE = re.compile(rf"({_PLAIN_WORD}|[^\w\s])")
# Punctuation after which the next word starts a sentence (its capital is grammar, not a name).
_SENTENCE_MARKS = frozenset('.!?…:;«»"“”()[]—–•|/')
# Abbreviations whose full stop does not end a sentence; the title ones announce a person.
_TITLE_ABBREVIATIONS = frozenset({"m", "mme", "mmes", "mm", "mlle", "me", "dr", "pr", "mgr"})
_ABBREVIATIONS = _TITLE_ABBREVIATIONS | {"st", "ste", "jr", "sr", "cf", "etc", "av", "bd", "no"}
_PARTICLES = frozenset("de du des la le von van der den ben bin el al di da dos del".split())
_ARABIC_PREFIX = re.compile(r"^(?:al|el|ben|bin|abu|abou)-(?=\w)", re.IGNORECASE)
_ACRONYM = re.compile(r"^[A-ZÀ-Ý]{2,6}(?:-[A-ZÀ-Ý]{2,6})?$")
_ROMAN = re.compile(r"^[IVXLC]+$")

# Capitalised only because a sentence starts with them (folded).
SENTENCE_STARTERS = frozenset(
    fold(w)
    for w in """
    le la les l un une des du de d ce cet cette ces mais selon pour dans en au aux apres avant depuis alors
    ainsi lors si et or donc puis enfin pourtant cependant toutefois car comme quand lorsque bien face outre
    malgre sans avec par sur sous chez entre vers contre il elle ils elles on nous vous je tu son sa ses leur
    leurs notre nos votre vos mon ma mes ton ta tes ceux celui celle celles quel quelle quels quelles qui que
    quoi ou pourquoi comment combien tout tous toute toutes plus moins tres trop aussi encore deja jamais
    toujours ici la voici voila oui non pas ni aucun aucune chaque plusieurs certains certaines autre autres
    meme seul seule seuls seules parmi pendant durant jusqu a y quelque quelques afin environ pres presque
    dont autant apres-midi cela ceci ca voila hors suite sauf certes desormais dorenavant
    neanmoins notamment surtout egalement ensuite aujourd hier demain
    """.split()
)
# Never part of a name, even capitalised: "… CATHERINE GRISET Elle a …" (folded).
PRONOUNS = frozenset("il elle ils elles on nous vous je tu".split())
COMPASS = frozenset("nord sud est ouest".split())
# Capitalised words that are not names on their own (folded): days, months, feasts, common nouns
# written with a capital, the virus.
NOT_NAMES = frozenset(
    fold(w)
    for w in """
    lundi mardi mercredi jeudi vendredi samedi dimanche janvier fevrier mars avril mai juin juillet aout
    septembre octobre novembre decembre noel paques toussaint ramadan aid hanoucca covid covid-19 coronavirus
    sars-cov-2 internet web etat république republique gouvernement president presidente premier ministre
    ministere dieu brexit euro euros mondial ligue coupe jeux jo bac nation nations ouest est sud
    centre gauche droite extreme-droite extreme-gauche monsieur madame mademoiselle docteur professeur
    prefet prefecture senat mairie region departement commune ville village pays monde terre lune soleil
    sciences science histoire francais francaise anglais europeen europeens occident orient antiquite
    moyen-age renaissance revolution resistance liberation occupation seconde guerre mondiale deuxieme
    premiere grand grande petit petite haut haute bas basse nouveau nouvelle vieux ancien ancienne saint
    sainte tv video photo photos direct exclusif alerte urgent lire voir aussi officiel interview
    temoignage recit enquete analyse reportage document info infos quiz vote sondage faux vrai ehpad
    saint-valentin saint-sylvestre saint-jean saint-nicolas saint-patrick
    """.split()
)
# All-capital words of 2 to 6 letters that are not organisations (folded).
NOT_ORGANISATIONS = frozenset(
    fold(w)
    for w in """
    covid sars vih sida pib tva csg isf rsa smic pma gpa ivg hlm tgv suv pdg ceo rer jo ok tv uk adn arn gps
    sms cv qr pv bd dj vip lgbt lgbtq lgbti irm ehpad chu apl rtt cdi cdd snu bac bts dut iut ndlr lgv ter
    tnt zad zep rep faq pdf url usb cb rib iban ttc ht ko nb ong sdf mma faux vrai info infos video photo
    photos direct alerte urgent lire voir aussi quiz vote tweet selfie ovni ufo ko ia ai ar km kg cm mm
    afp-relaxnews maj ps-lr vtc ddhc ue-turquie mdr lol ptdr svp rdv pv cop lgbtqi lgbtqia paf qpc ogm
    notam itt dals
    """.split()
) - {fold("AFP")}
# Words that introduce an organisation's acronym (folded): la CGT, du Medef, selon RSF.
ACRONYM_LEADS = frozenset(
    fold(w)
    for w in """
    le la les l du des de d au aux a par selon pour avec contre chez sur et ou entre dont que qui
    """.split()
)
# A run starting with one of these words and longer than it is an organisation (folded).
ORGANISATION_HEADS = frozenset(
    fold(w)
    for w in """
    Parti Union Ministère Assemblée Conseil Banque Fédération Association Société Groupe Agence Institut
    Office Cour Tribunal Commission Comité Fondation Syndicat Confédération Mouvement Front Rassemblement
    Université Observatoire Caisse Centre Chambre Direction Organisation Fonds Autorité Ligue Club Collectif
    Compagnie Laboratoire Lycée Collège École Hôpital Clinique Musée Théâtre Opéra Orchestre Racing Olympique
    Sporting AS FC RC OGC Église Parquet Préfecture Mairie Académie Conservatoire Cabinet Armée Gendarmerie
    Police Brigade Régiment Ordre Secours Haute Haut Conférence Congrès Bureau Service Services Fondation
    Journal
    """.split()
)
# A capitalised run right after one of these lower-case words is an organisation (folded).
ORGANISATION_CUES = frozenset(
    fold(w)
    for w in """
    société groupe entreprise constructeur syndicat parti journal quotidien hebdomadaire magazine chaîne
    radio club association ONG compagnie opérateur géant laboratoire labo banque fabricant enseigne firme
    plateforme institut agence cabinet équipementier assureur distributeur mutuelle fonds collectif
    fédération start-up média site réseau mouvement formation alliance coalition
    """.split()
)
# A capitalised run right after one of these lower-case words (or abbreviations) is a person (folded).
PERSON_CUES = frozenset(
    fold(w)
    for w in """
    M Mme Mmes MM Mlle Me Dr Pr Mgr
    président présidente vice-président vice-présidente ministre député députée eurodéputé eurodéputée
    sénateur sénatrice maire secrétaire porte-parole chef cheffe candidat candidate procureur procureure juge
    avocat avocate général générale pape roi reine prince princesse chancelier chancelière patron patronne
    PDG directeur directrice fondateur fondatrice chanteur chanteuse acteur actrice comédien comédienne
    humoriste animateur animatrice journaliste écrivain écrivaine auteur autrice réalisateur réalisatrice
    artiste rappeur rappeuse footballeur footballeuse joueur joueuse attaquant défenseur gardien entraîneur
    sélectionneur coureur pilote champion championne épouse mari fils fille frère sœur père mère militant
    militante opposant opposante dirigeant dirigeante leader commissaire ambassadeur ambassadrice professeur
    professeure docteur urgentiste épidémiologiste infectiologue médecin chercheur chercheuse économiste
    sociologue philosophe historien historienne politologue conseiller conseillère successeur prédécesseur
    rival rivale adversaire homologue star mannequin influenceur influenceuse youtubeur youtubeuse styliste
    couturier cheikh émir prêtre abbé évêque cardinal rabbin imam sénateurs présidents ministres
    """.split()
)
# After these, a capitalised run names an address (dropped) or an institution (an organisation).
STREET_NOUNS = frozenset(
    fold(w) for w in "rue avenue boulevard place quai allée impasse chemin square pont route cours passage".split()
)
INSTITUTION_NOUNS = frozenset(
    fold(w)
    for w in """collège lycée école hôpital clinique musée stade théâtre université parc gare aéroport cathédrale
    église basilique chapelle abbaye""".split()
)
_ADDRESS_NOUNS = STREET_NOUNS | INSTITUTION_NOUNS
PLACE_INSTITUTIONS = frozenset({"stade", "parc", "gare", "aeroport", "cathedrale", "eglise", "basilique", "chapelle",
                                "abbaye"})  # fmt: skip
# A capitalised run right after one of these is a place: à Vézenac, en Bretagne (folded).
PLACE_PREPOSITIONS = frozenset({"a", "au", "aux", "en"})
# ... or after one of these followed by de: près de Lyon, la ville de Nîmes (folded).
PLACE_NOUNS = frozenset(
    fold(w)
    for w in """
    près ville commune village région département province capitale banlieue quartier agglomération
    métropole environs habitants maire préfet préfecture canton arrondissement bourg hameau localité
    port aéroport gare nord sud est ouest centre large côtes périphérie abords
    """.split()
)


def _read_lines(name: str) -> list[str]:
    lines = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def _words(text: str) -> list[str]:
    return [t for t in _TOKEN_RE.findall(text) if t[0].isalnum() or t[0] == "_"]


def _key(words) -> tuple[str, ...]:
    return tuple(fold(_core(w)) for w in words)


def _elided(word: str) -> bool:
    return strip_elision(word) != word.replace("’", "'")


@lru_cache(maxsize=200_000)
def _core(word: str) -> str:
    """Return a word without elided article (l'Ukraine → Ukraine) or Arabic article (al-Assad → Assad)."""
    word = strip_elision(word)
    return _ARABIC_PREFIX.sub("", word)


def _capitalised(word: str) -> bool:
    core = _core(word)
    return bool(core) and core[0].isupper()


@dataclass(frozen=True)
class _Known:
    """One name of a known entity: its words, their required shape, and what it stands for."""

    type: str
    canonical: str
    words: tuple[str, ...]
    surname: bool  # a person's surname alone ("Macron"): only when no capitalised word touches it
    common: bool = False  # also a common word ("Agir"): not at a sentence start, where any word has a capital


@dataclass
class Resources:
    """The data files, loaded once: gazetteer, first names and known entities."""

    places: dict[tuple[str, ...], str] = field(default_factory=dict)
    first_names: frozenset[str] = frozenset()
    known: dict[tuple[str, ...], list[_Known]] = field(default_factory=dict)
    known_starts: set[str] = field(default_factory=set)  # first words of known names, to skip the rest fast
    known_prefixes: set[tuple[str, ...]] = field(default_factory=set)  # every start of a known name's key
    longest_known: int = 1


@lru_cache(maxsize=1)
def resources() -> Resources:
    """Return the gazetteer, first names and known entities of the data folder."""
    res = Resources()
    for line in _read_lines("lieux.txt"):
        names = [n.strip() for n in line.split(",") if n.strip()]
        for name in names:
            res.places.setdefault(_key(_words(name)), names[0])
    res.first_names = frozenset(fold(w) for line in _read_lines("prenoms.txt") for w in line.split())
    section = None
    for line in _read_lines("entites.txt"):
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        if section not in TYPES:
            continue
        common = line.startswith("~")
        canonical, _, aliases = line.removeprefix("~").partition(":")
        canonical = canonical.strip()
        for alias in [canonical] + [a.strip() for a in aliases.split(",") if a.strip()]:
            words = tuple(_words(alias))
            canonical_words = _key(_words(canonical))
            surname = (
                section == PERSON
                and alias != canonical
                and len(words) < len(canonical_words)
                and canonical_words[-len(words) :] == _key(words)
            )
            entry = _Known(section, canonical, words, surname, common)
            res.known.setdefault(_key(words), []).append(entry)
            key = _key(words)
            res.known_starts.add(key[0])
            res.known_prefixes.update(key[:n] for n in range(1, len(key) + 1))
            res.longest_known = max(res.longest_known, len(words))
    return res


@dataclass(slots=True)
class _Token:
    text: str
    start: int
    word: bool
    initial: bool = False  # first word of a sentence
    cap: bool = False
    key: str = ""  # folded, without elided article
    used: bool = False  # part of a known entity already


@lru_cache(maxsize=200_000)
def _shape(word: str) -> tuple[str, bool]:
    """Return a word's key (folded core) and whether it is capitalised (pronouns are not names)."""
    core = _core(word)
    key = fold(core)
    return key, core[:1].isupper() and key not in PRONOUNS


# What _tokens needs of each distinct token (is it a word, its key, is it capitalised), kept per process.
_TOKEN_INFO: dict[str, tuple[bool, str, bool]] = {}
_TOKEN_INFO_LIMIT = 500_000
_NOT_A_WORD = (False, "", False)


def _token_info(token: str) -> tuple[bool, str, bool]:
    if token[0].isalnum() or token[0] == "_":
        info = (True, *_shape(token))
    else:
        info = _NOT_A_WORD
    if len(_TOKEN_INFO) > _TOKEN_INFO_LIMIT:
        _TOKEN_INFO.clear()
    _TOKEN_INFO[token] = info
    return info


def _tokens(text: str) -> list[_Token]:
    # split() hands over the tokens and the gaps between them (whitespace) in one call; a text without
    # a dotted acronym is split without that branch of the pattern (same tokens, a third faster).
    parts = (_SPLIT_RE if _MAY_HOLD_ACRONYM.search(text) else _SPLIT_PLAIN_RE).split(text)
    tokens: list[_Token] = []
    append = tokens.append
    info_of = _TOKEN_INFO.get
    start = len(parts[0])
    prev = before = None
    for k in range(1, len(parts), 2):
        word = parts[k]
        info = info_of(word) or _token_info(word)
        gap = parts[k + 1]
        if info[0]:
            if prev is None or "\n" in parts[k - 1]:
                initial = True
            elif not prev.word and prev.text in _SENTENCE_MARKS:
                # "M. Macron": the full stop of an abbreviation does not start a sentence.
                abbreviation = (
                    prev.text == "."
                    and before is not None
                    and before.word
                    and (fold(before.text) in _ABBREVIATIONS or (len(before.text) == 1 and before.text.isupper()))
                    and _written_as_abbreviation(before.text)
                )
                initial = not abbreviation
            else:
                initial = False
            tok = _Token(word, start, True, initial, info[2], info[1])
        else:
            tok = _Token(word, start, False)
        start += len(word) + len(gap)
        append(tok)
        before, prev = prev, tok
    return tokens


@dataclass
class _Mention:
    type: str | None  # None: not classified yet
    words: list[str]
    position: int
    canonical: str | None = None  # set for known entities and places
    weak_surname: bool = False  # a known surname alone, to check against the article's full names
    guessed: bool = False  # a place or acronym from context alone: a person's surname if one matches


class _Extractor:
    """Finds mentions in one text (title or body) with the article-wide resources."""

    def __init__(self, res: Resources):
        self.res = res

    def is_first_name(self, word: str) -> bool:
        # Jean-Luc is a first name, Jean-Moulin (a school, a street) is not: every part must be one.
        parts = [fold(p) for p in _core(word).split("-")]
        return fold(_core(word)) in self.res.first_names or all(p in self.res.first_names for p in parts)

    def known_at(self, tokens: list[_Token], i: int):
        """Return (entry, length) of the longest known entity starting at token i, or None."""
        if tokens[i].key not in self.res.known_starts:
            return None
        # Only as far as some known name goes: "le" starts "Le Monde", "le gouvernement" starts nothing.
        words, key, keys, prefixes = [], (), [], self.res.known_prefixes
        for j in range(i, min(len(tokens), i + self.res.longest_known)):
            key += (tokens[j].key,)
            if not tokens[j].word or key not in prefixes:
                break
            words.append(tokens[j])
            keys.append(key)
        for length in range(len(words), 0, -1):
            entries = self.res.known.get(keys[length - 1])
            for entry in entries or ():
                if entry.common and tokens[i].initial:
                    continue
                if self.shape_matches(entry, words[:length]) and self.stands_alone(entry, tokens, i, i + length):
                    return entry, length
        return None

    @staticmethod
    def shape_matches(entry: _Known, words: list[_Token]) -> bool:
        for want, tok in zip(entry.words, words, strict=True):
            if _ACRONYM.match(want) and len(want) <= 3 and _core(tok.text) != want:
                return False  # PS, UE, EI: only in capitals
            if _capitalised(want) and not tok.cap:
                return False  # "Le Monde", not "le monde"
        return True

    @staticmethod
    def stands_alone(entry: _Known, tokens: list[_Token], start: int, end: int) -> bool:
        """A surname alone must not be part of a longer name: "Pierre Castex" is not Jean Castex."""
        if not entry.surname:
            return True
        before = tokens[start - 1] if start > 0 else None
        after = tokens[end] if end < len(tokens) else None
        if (
            before is not None
            and before.word
            and before.cap
            and fold(before.text) not in _TITLE_ABBREVIATIONS
            and not (before.initial and fold(_core(before.text)) in SENTENCE_STARTERS)
        ):
            return False
        return not (after is not None and after.word and after.cap)

    def runs(self, tokens: list[_Token]):
        """Yield (first index, last index + 1) of runs of capitalised words joined by particles."""
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if not (tok.word and tok.cap and not tok.used):
                i += 1
                continue
            end = i + 1
            while end < len(tokens):
                nxt = tokens[end]
                if nxt.word and nxt.cap and not nxt.used and not nxt.initial:
                    end += 1
                    continue
                # particles (at most two: "de la") then a capitalised word
                k = end
                while k < len(tokens) and k - end < 2 and tokens[k].word and tokens[k].text in _PARTICLES:
                    k += 1
                if k > end and k < len(tokens) and tokens[k].word and tokens[k].cap and not tokens[k].used:
                    end = k + 1
                    continue
                break
            yield i, end
            i = end

    def split(self, tokens: list[_Token], start: int, end: int):
        """Cut a run before a first name that follows other words: "Paris Anne Hidalgo", "RN Louis Aliot"."""
        pieces, begin = [], start
        for k in range(start + 1, end):
            prev, tok = tokens[k - 1], tokens[k]
            if not tok.cap:
                continue
            if self.is_first_name(tok.text) and not self.is_first_name(prev.text) and prev.cap:
                pieces.append((begin, k))
                begin = k
        pieces.append((begin, end))
        return pieces

    @staticmethod
    def previous_words(tokens: list[_Token], start: int) -> tuple[str, str]:
        """Return the two folded words before token start ("" past punctuation); d'X counts "de" before X."""
        word = tokens[start].text
        out = []
        if _elided(word):
            out.append("de" if fold(word[:1]) == "d" else "le")
        k = start - 1
        while len(out) < 2 and k >= 0 and tokens[k].word:
            out.append(tokens[k].key if not out else fold(tokens[k].text))  # l'aéroport Charles de Gaulle
            k -= 1
        # "M. Macron": the abbreviation's full stop stands between the title and the name.
        if (
            not out
            and start >= 2
            and tokens[start - 1].text == "."
            and fold(tokens[start - 2].text) in _TITLE_ABBREVIATIONS
            and _written_as_abbreviation(tokens[start - 2].text)
        ):
            out.append(fold(tokens[start - 2].text))
        out += [""] * (2 - len(out))
        return out[0], out[1]

    def classify(self, tokens: list[_Token], start: int, end: int) -> _Mention | None:
        """Classify one run of capitalised words, or return it unclassified (type None)."""
        # "Sud de la Lozère": the compass word and its particles are not part of the place's name.
        while end - start > 2 and fold(tokens[start].text) in COMPASS and tokens[start + 1].text in _PARTICLES:
            start += 2
            while start < end - 1 and tokens[start].text in _PARTICLES:
                start += 1
        words = [t.text for t in tokens[start:end]]
        words[0] = _core(words[0]) if not _ARABIC_PREFIX.match(words[0]) else words[0]
        if len(words) > 1 and all(w.isupper() for w in words):
            words = [w.title() for w in words]  # "THIERRY LÉGIER" is "Thierry Légier"
        key = _key(words)
        position = tokens[start].start
        prev1, prev2 = self.previous_words(tokens, start)
        if len(words) == 1 and key[0] in NOT_NAMES:
            return None
        if prev1 in STREET_NOUNS:
            return None  # rue Victor-Hugo, avenue Jean-Jaurès: an address, not the person
        if prev1 in INSTITUTION_NOUNS:
            # collège Jean-Moulin, hôpital Bichat: the institution; stade Geoffroy-Guichard: the place
            kind = PLACE if prev1 in PLACE_INSTITUTIONS else ORG
            return _Mention(kind, words, position, canonical=_core(tokens[start - 1].text) + " " + " ".join(words))
        if key in self.res.places:
            return _Mention(PLACE, words, position, canonical=self.res.places[key])
        if any(ch.isdigit() for word in words for ch in word):
            # F1, V8, CM2, Paris-2024, "Elise S1": models, classes, events; only a cue makes it a name (chaîne C8).
            organisation = (len(words) > 1 and key[0] in ORGANISATION_HEADS) or prev1 in ORGANISATION_CUES
            return _Mention(ORG, words, position) if organisation else None
        if len(words) > 1 and self.is_first_name(words[0]):
            return _Mention(PERSON, words, position)
        # "l'agence de mannequins IMG", "la sénatrice LR": an acronym after a person's title is not a person.
        acronym = len(words) == 1 and bool(_ACRONYM.match(words[0]))
        if prev1 in _TITLE_ABBREVIATIONS or (prev1 in PERSON_CUES and not _demonym(key) and not acronym):
            return _Mention(PERSON, words, position)
        if len(words) > 1 and key[0] in ORGANISATION_HEADS:
            return _Mention(ORG, words, position)
        if prev1 in ORGANISATION_CUES:
            return _Mention(ORG, words, position)
        if prev1 in {"de", "du", "des", "le", "la"} and prev2 == "ministere":
            particle = {"le": "de l'", "la": "de la"}.get(prev1, prev1 + " ")
            if key[-1] == "affaires" and end < len(tokens) and tokens[end].word and not tokens[end].cap:
                words = words + [tokens[end].text]  # Affaires étrangères, Affaires sociales
            name = "Ministère " + particle + " ".join(words)
            return _Mention(ORG, words, position, canonical=name.replace("' ", "'"))
        # An unknown acronym of 3 to 6 capitals, after a determiner or preposition ("la CGT", "selon l'ONISR")
        # or a parenthesis: "moteur TDI" names a thing. Unknown 2-letter ones (TV, UK, LS) are rarely names.
        if len(words) == 1 and _ACRONYM.match(words[0]) and len(words[0]) > 2 and not _ROMAN.match(words[0]):
            before = tokens[start - 1].text if start else ""
            introduced = (
                tokens[start].initial or _elided(tokens[start].text) or before == "(" or fold(before) in ACRONYM_LEADS
            )
            if introduced and key[0] not in NOT_ORGANISATIONS:
                return _Mention(ORG, words, position, guessed=True)
            return None
        if _core(words[0]).startswith(("Saint-", "Sainte-")):
            return _Mention(PLACE, words, position)
        looks_like_people = key[0].endswith("s") or key[-1].endswith("s") or _demonym(key)
        place_cue = prev1 in PLACE_PREPOSITIONS or (prev1 in {"de", "du", "d"} and prev2 in PLACE_NOUNS)
        # Two plain capitalised words after "à" are as often a person as a place: "à Roman Polanski".
        one_name = len(words) == 1 or any(w in _PARTICLES or _elided(w) for w in words[1:])
        if (
            place_cue
            and one_name
            and len(key[0]) > 1  # "à R=1": a letter is no place
            and not looks_like_people
            and key[0] not in ORGANISATION_HEADS
            and not self.is_first_name(words[0])
        ):
            return _Mention(PLACE, words, position, guessed=True)
        return _Mention(None, words, position)

    def mentions(self, text: str) -> list[_Mention]:
        tokens = _tokens(text)
        found: list[_Mention] = []
        starts = self.res.known_starts  # known_at's own first test, made here: most words start no known name
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            hit = self.known_at(tokens, i) if tok.word and tok.key in starts else None
            if hit and hit[0].type == PERSON and i and tokens[i - 1].key in _ADDRESS_NOUNS:
                hit = None  # avenue Charles de Gaulle, aéroport Charles de Gaulle: classified below as the run it is
            if hit:
                entry, length = hit
                for tok in tokens[i : i + length]:
                    tok.used = True
                found.append(
                    _Mention(
                        entry.type,
                        [t.text for t in tokens[i : i + length]],
                        tokens[i].start,
                        canonical=entry.canonical,
                        weak_surname=entry.surname,
                    )
                )
                i += length
            else:
                i += 1
        for start, end in self.runs(tokens):
            # A sentence's first word is capitalised by grammar: drop it when it is a common word.
            if tokens[start].initial and fold(_core(tokens[start].text)) in SENTENCE_STARTERS:
                start += 1
            while start < end and tokens[start].text in _PARTICLES:
                start += 1
            if start >= end:
                continue
            for a, b in self.split(tokens, start, end):
                mention = self.classify(tokens, a, b)
                if mention is None:
                    continue
                if mention.type is None and b - a > 1:
                    # "Gardon d'Alès": an unknown run may hold known places between its particles.
                    for part in self.parts(tokens, a, b):
                        words = [t.text for t in tokens[part[0] : part[1]]]
                        words[0] = _core(words[0])
                        key = _key(words)
                        if key in self.res.places:
                            found.append(_Mention(PLACE, words, tokens[part[0]].start, self.res.places[key]))
                    continue
                if mention.type is None and tokens[a].initial:
                    mention.weak_surname = True  # a sentence's first word: kept only if a surname matches it
                found.append(mention)
        return found

    @staticmethod
    def parts(tokens: list[_Token], start: int, end: int):
        """Yield the pieces of a run between its particles: "Gardon d'Alès" → Gardon, d'Alès."""
        begin = start
        for k in range(start, end):
            text = tokens[k].text
            if text in _PARTICLES:
                if k > begin:
                    yield begin, k
                begin = k + 1
            elif k > begin and _elided(text):
                yield begin, k
                begin = k
        if begin < end:
            yield begin, end


def _written_as_abbreviation(word: str) -> bool:
    """Tell whether a word before a full stop is written as a title's abbreviation: "MM." yes, "95 mm." no."""
    return fold(word) not in _TITLE_ABBREVIATIONS or word[:1].isupper()


def _demonym(key: tuple[str, ...]) -> bool:
    """Tell whether a one-word name looks like a people's name (Français, Américaine), not a person's."""
    return len(key) == 1 and key[0].endswith(("ais", "aise", "ois", "oise", "ien", "ienne", "ain", "aine", "ains"))


def _surnames(words: list[str], is_first_name) -> list[tuple[str, ...]]:
    """Return the ways a full name may be shortened: "Marine Le Pen" → ("le", "pen"), ("pen",)."""
    key = _key(words)
    k = 1
    while k < len(words) - 1 and is_first_name(words[k]):
        k += 1  # "Jean Marie Le Pen"
    out = [key[k:]]
    if len(key) - k > 1:
        out.append(key[-1:])
    return out


def extract_entities(title: str, body: str) -> dict[str, list[str]]:
    """Return the people, places and organisations of an article, most mentioned first, at most 10 each."""
    res = resources()
    extractor = _Extractor(res)
    mentions = extractor.mentions(title or "")
    offset = len(title or "") + 1
    for mention in extractor.mentions(body or ""):
        mention.position += offset
        mentions.append(mention)

    # Full names of people in this article, by the surnames they may be shortened to.
    full_names: dict[tuple[str, ...], Counter] = {}
    for m in mentions:
        if m.type == PERSON and len(m.words) > 1 and not m.weak_surname:
            name = m.canonical or " ".join(m.words)
            for surname in _surnames(m.words, extractor.is_first_name):
                full_names.setdefault(surname, Counter())[name] += 1

    counts: dict[str, Counter] = {t: Counter() for t in TYPES}
    first_seen: dict[tuple[str, str], int] = {}
    for m in mentions:
        kind, name = m.type, m.canonical
        shortened = kind == PERSON and not extractor.is_first_name(m.words[0]) and m.canonical is None
        if m.guessed and _key(m.words) in full_names:
            kind = None  # "à Borniche" after "Roger Borniche": the man, not a place
        if kind is None or m.weak_surname or shortened:
            candidates = full_names.get(_key(m.words))
            if candidates:
                # The known person if the article names them in full, else its most named full name.
                kind = PERSON
                name = m.canonical if m.canonical in candidates else candidates.most_common(1)[0][0]
            elif kind is None:
                continue
        name = name or " ".join(m.words)
        counts[kind][name] += 1
        first_seen.setdefault((kind, name), m.position)

    return {
        kind: sorted(counts[kind], key=lambda n, k=kind: (-counts[k][n], first_seen[k, n]))[:MAX_PER_TYPE]
        for kind in TYPES
    }
