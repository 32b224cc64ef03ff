"""Admission control: estimate what a search will cost before running it, and run only a few at once."""

from __future__ import annotations

import threading
from contextlib import contextmanager

from .errors import OverloadedError
from .query import plan_query

# Cost is counted in points: 1 is a keyword query of a few words on the 33,954-article corpus (10-30 ms there).
# A search estimated at COSTLY points or more goes to the costly lane, which holds fewer slots. The weights come
# from timing each kind of query on that corpus (bench/bench_overload.py --calibrate prints estimate and time).
COSTLY = 4.0
BROWSE_COST = 0.5
# Length dominates: every word of a query that matches nothing is compared with the lexicon for "did you mean"
# (200 characters of nonsense: 0.46 s; 2,000: 5.5 s), while a pasted passage of real words takes 30 ms.
CHARS_PER_POINT = 50
PASSAGE_COST = 2.0  # an OR of its rarest words, then a second-stage rerank of 100 hits
FUZZY_COST = 2.0  # each `word~` expands over the lexicon
HITS_PER_POINT = 2000  # a deep page scores, collapses and sorts page × limit hits (10,000: 0.1-0.3 s)
FILTER_COST = 0.1  # each tag or entity filter ANDs one more bitset
RECENT_COST = 0.5  # the "recent" sort rescores at least 200 hits
# An article page's related articles (more-like-this): 90-120 ms, whatever the request, so the cheap lane.
RELATED_COST = 3.0
# Seconds a request may wait for a slot before it is turned away, and the Retry-After it is then given.
QUEUE_WAIT = 1.0
RETRY_AFTER = 2


def estimate_cost(request) -> float:
    """Estimate in points what a SearchRequest will cost, from its query plan (nothing is searched)."""
    text = (request.q or "").strip()
    if not text:
        cost = BROWSE_COST
    else:
        # The plan is the one the search will read: its size bounds raise QueryError here too, before any slot.
        plan = plan_query(text, read_dates=False)
        cost = 1.0 + len(text) / CHARS_PER_POINT + sum(1 for t in plan.tokens if t.fuzzy) * FUZZY_COST
        if plan.long:
            cost += PASSAGE_COST
    filters = len(request.tags) + len(request.persons) + len(request.places) + len(request.orgs)
    cost += filters * FILTER_COST + request.page * request.limit / HITS_PER_POINT
    if request.sort == "recent":
        cost += RECENT_COST
    return cost


class Gate:
    """At most `slots` searches at once, at most `costly_slots` of them costly, each lane with a short queue."""

    # A search that finds no slot waits up to `wait` seconds among `queue` others (`costly_queue` for costly
    # ones); a full queue or a wait run out refuses it with OverloadedError, a 503 with Retry-After on the web.

    def __init__(self, slots: int = 2, costly_slots: int = 1, queue: int = 8, costly_queue: int = 2, wait=QUEUE_WAIT):
        self.slots, self.costly_slots = slots, min(costly_slots, slots)
        self.queue, self.costly_queue = queue, min(costly_queue, queue)
        self.wait = wait
        self.running = {"cheap": 0, "costly": 0}
        self.waiting = {"cheap": 0, "costly": 0}
        self.refused = 0
        self._cond = threading.Condition()

    def _free(self, lane: str) -> bool:
        if self.running["cheap"] + self.running["costly"] >= self.slots:
            return False
        return lane == "cheap" or self.running["costly"] < self.costly_slots

    @contextmanager
    def admit(self, cost: float):
        """Hold a slot of the lane `cost` belongs to while the block runs, or raise OverloadedError."""
        lane = "costly" if cost >= COSTLY else "cheap"
        with self._cond:
            if not self._free(lane):
                limit = self.costly_queue if lane == "costly" else self.queue
                if self.waiting["cheap"] + self.waiting["costly"] >= self.queue or self.waiting[lane] >= limit:
                    self._refuse(lane)
                self.waiting[lane] += 1
                try:
                    admitted = self._cond.wait_for(lambda: self._free(lane), timeout=self.wait)
                finally:
                    self.waiting[lane] -= 1
                if not admitted:
                    self._refuse(lane)
            self.running[lane] += 1
        try:
            yield lane
        finally:
            with self._cond:
                self.running[lane] -= 1
                # Waiters of both lanes share the condition; each checks its own lane's rule.
                self._cond.notify_all()

    def _refuse(self, lane: str):
        self.refused += 1
        what = ("costly searches", "recherches coûteuses") if lane == "costly" else ("searches", "recherches")
        raise OverloadedError("overloaded", retry_after=RETRY_AFTER, what=what[0], what_fr=what[1], seconds=RETRY_AFTER)
