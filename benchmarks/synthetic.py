"""A synthetic scenario for measuring what foresight costs.

One deciding actor has ``k`` moves besides waiting; in the foresight variant
each move has a ``foresight`` rule of horizon ``h``, in the plain variant a
preference with a fixed utility instead, so both variants have the same
actors, actions, responders and rules to evaluate, and differ only in how the
decider weighs its moves. Three other actors can respond, two moves each:

* the defender (a private word trait ``resolve`` with two types, which the
  decider weighs by its prior; its strike's effect reads the trait, so that
  response is adjudicated once per type),
* a neighbour and an ally (no private traits).

Each response is picked by a trigger or a preference; five of the six can
change what the decider values and are predicted (the ally's mediation
moves only ``pressure``, which the decider does not value, so foresight
leaves it out). The moves raise ``pressure``, which the responders' rules
read, so their chances change from day to day. Citations are real claim ids
of the registry (the scenario is loaded with citation checks on), chosen
only so that it loads: the scenario models nothing.
"""

from __future__ import annotations

RESPONDERS = 3
RESPONSES = 6  # over all responders
PREDICTED = 5  # of them, those that can change the decider's values
DEFENDER_TYPES = 2


def foresight_scenario(k: int, horizon: int, *, foresight: bool = True, days: int = 60) -> str:
    """The scenario's YAML text: ``k`` moves, weighed over ``horizon`` days or by preference."""
    moves, rules = [], []
    for i in range(1, k + 1):
        moves.append(
            f"      move_{i}: {{effects: {{pressure: pressure + {i}, gains: gains + {i}}}, "
            "escalate_to: tense}"
        )
        if foresight:
            rules.append(
                f"      weigh_{i}: {{kind: foresight, action: move_{i}, horizon: {horizon}, "
                "cites: [kremlin-appetite-decides]}"
            )
        else:
            rules.append(
                f"      prefer_{i}: {{kind: preference, action: move_{i}, utility: -2 - {i} / 2, "
                "cites: [kremlin-appetite-decides]}"
            )
    name = f"foresight_k{k}_h{horizon}" if foresight else f"plain_k{k}"
    return f"""\
scenario: {{name: {name}, title: Foresight cost, start: 2022-01-01, horizon_days: {days}, seed: 1}}
state:
  pressure: {{type: float, initial: 0, min: 0, max: 20}}
  gains: {{type: float, initial: 0, min: 0, max: 100}}
  losses: {{type: float, initial: 0, min: 0, max: 100}}
  sanctioned: {{type: bool, initial: false}}
  warned: {{type: bool, initial: false}}
  reinforced: {{type: bool, initial: false}}
parameters:
  resolve:
    dist: choice
    options: {{firm: 0.5, weak: 0.5}}
    owner: defender
    cites: [us-swift-response-25-jan]
ladder:
  calm: {{name: Calm, mid_level: 1}}
  tense: {{name: Tense, mid_level: 3}}
  clash: {{name: Clash, mid_level: 5}}
actors:
  decider:
    name: Decider
    actions:
      wait: {{default: true}}
{chr(10).join(moves)}
    values:
      gain: {{of: gains, weight: 1, cites: [kremlin-appetite-decides]}}
      loss: {{of: losses, weight: -2, cites: [us-sanctions-if-belarus-joins]}}
      sanctions: {{of: sanctioned, weight: -5, cites: [us-sanctions-if-belarus-joins]}}
      alarm: {{of: warned or reinforced, weight: -1, cites: [us-swift-response-25-jan]}}
    rules:
{chr(10).join(rules)}
  defender:
    name: Defender
    actions:
      wait: {{default: true}}
      sanction: {{once: true, effects: {{sanctioned: true}}}}
      strike:
        effects: {{losses: 'losses + (3 if resolve == "firm" else 1)'}}
        escalate_to: clash
    rules:
      sanctions_follow_pressure:
        kind: trigger
        action: sanction
        when: pressure > 2
        prob: '0.1 if resolve == "firm" else 0.02'
        cites: [us-sanctions-if-belarus-joins]
      strike_back:
        kind: preference
        action: strike
        utility: -6 + pressure / 2
        cites: [us-swift-response-25-jan]
  neighbour:
    name: Neighbour
    actions:
      wait: {{default: true}}
      warn: {{effects: {{warned: true}}}}
      reinforce: {{once: true, effects: {{reinforced: true, pressure: pressure - 1}}}}
    rules:
      warns:
        kind: preference
        action: warn
        utility: -3 + pressure / 4
        cites: [drills-as-pressure-on-ukraine]
      reinforces:
        kind: trigger
        action: reinforce
        when: pressure > 4
        prob: 0.05
        cites: [budanov-two-weeks-buildup]
  ally:
    name: Ally
    actions:
      wait: {{default: true}}
      mediate: {{effects: {{pressure: pressure - 1}}}}
      join: {{once: true, effects: {{losses: losses + 2}}, escalate_to: clash}}
    rules:
      mediates:
        kind: preference
        action: mediate
        utility: -2 + pressure / 5
        cites: [grey-zone-preferred]
      joins:
        kind: trigger
        action: join
        when: losses > 5
        prob: 0.02
        cites: [union-obligations-bind]
outcomes:
  quiet: {{name: Quiet}}
  clash: {{name: Clash, when: peak >= rungs.clash}}
"""
