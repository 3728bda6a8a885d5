"""Seats: a person, a saved list of moves or any policy decides for an actor.

The doctrine of the scenario still decides first, in every world, so each
actor's random stream moves exactly as in a run without seats; a seat then
replaces the doctrine's choice wherever its own choice is allowed
(:mod:`sim.seat.seats`). What a seated actor knows when it chooses is a
:class:`~sim.seat.view.SeatView`; a decision-maker is anything with
``choose(view)`` (:class:`~sim.seat.policy.Policy`). Moves files
(:mod:`sim.seat.moves`) are the policy of a person written down. See
docs/seats.md.
"""
