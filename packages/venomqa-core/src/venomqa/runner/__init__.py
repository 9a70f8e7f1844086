"""The journey runner: scripted Steps, named Checkpoints and Branches run against a World.

from venomqa.runner import JourneyRunner, run_journey

result = run_journey(world, journey, invariants=[...])   # sets up, runs, rolls back, tears down
"""

from venomqa.runner.journey_runner import JourneyRunner, run_journey
from venomqa.runner.steps import StepOutcome, execute_step
from venomqa.runner.validation import validate_journey

__all__ = ["JourneyRunner", "StepOutcome", "execute_step", "run_journey", "validate_journey"]
