"""``wargame play``: a person takes an actor's seat in the terminal.

Inside, bottom to top: ``commands`` (what a typed line means) and
``screen`` (the day's screen as text), then ``session`` (the prompt, the
game and the review together). See docs/play.md.
"""
