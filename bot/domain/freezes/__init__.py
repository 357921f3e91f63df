"""Change freezes: when an environment must not change, and how shipbot keeps to it.

- :mod:`.policy` the pure core (``frozen_at``, ``next_freezes``) over :mod:`.exchange`
  (trading sessions from exchange-calendars), :mod:`.windows` (the catalog's planned windows)
  and chat freezes; :mod:`.spans` the interval values they share.
- :mod:`.chat` `/shipbot freeze` and `unfreeze`; :mod:`.listing` `/shipbot freezes` and the
  calendar's known range; :mod:`.guard` the checks at request, at start and before each data
  centre; :mod:`.words` how freezes are said.
"""
