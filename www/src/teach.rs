//! Lessons and drill mode as the worker runs them: which step a learner is on and whether its
//! checkpoint is met; which hidden fault a drill injected, the hints taken and the score. The
//! content (narration, goals, faults, scoring) lives in the core's `session::lessons` and
//! `session::quiz`, where it is tested natively; this is the state machine around it.

use crate::protocol::{DrillChoice, DrillResult, DrillState, LessonState};
use logsim::session::lessons::{anchor, describe_goal, goal_met, lessons, Goal, Lesson};
use logsim::session::quiz::{drills, hidden_fault, score, Drill, HiddenFault, Named};
use logsim::session::timeline::Session;
use logsim::sim::cluster::scenario::{ClusterScenario, Step};

pub enum Teaching {
    None,
    Lesson {
        lesson: Box<Lesson>,
        step: u32,
        /// The current step's goal, anchored when the step became current ("run 10 s more"
        /// counts from then); `None` until the session exists.
        goal: Option<Goal>,
        /// The current step's checkpoint was reached (it stays reached).
        met: bool,
    },
    Drill {
        drill: Box<Drill>,
        fault: HiddenFault,
        hints_used: u32,
        result: Option<DrillResult>,
    },
}

fn find_lesson(id: &str) -> Result<Lesson, String> {
    lessons()
        .into_iter()
        .find(|l| l.id == id)
        .ok_or_else(|| format!("there is no lesson named {id:?}"))
}

fn find_drill(id: &str) -> Result<Drill, String> {
    drills()
        .into_iter()
        .find(|d| d.id == id)
        .ok_or_else(|| format!("there is no drill named {id:?}"))
}

/// The seed a lesson is written for (its narration names brokers by that seed's placement).
pub fn lesson_seed(id: &str) -> Result<u64, String> {
    Ok(find_lesson(id)?.seed)
}

/// A lesson's scenario.
pub fn lesson_scenario(id: &str) -> Result<ClusterScenario, String> {
    Ok(find_lesson(id)?.scenario)
}

/// A drill's scenario with its hidden fault for this seed among its steps.
pub fn drill_scenario(id: &str, seed: u64) -> Result<ClusterScenario, String> {
    let drill = find_drill(id)?;
    Ok(with_fault(&drill, &hidden_fault(&drill, seed)))
}

fn with_fault(drill: &Drill, fault: &HiddenFault) -> ClusterScenario {
    let mut scenario = drill.scenario.clone();
    scenario
        .steps
        .extend(fault.actions.iter().map(|action| Step {
            at_ms: fault.at_ms,
            action: action.clone(),
        }));
    scenario
}

/// An entry of the app's lesson or drill list: (id, title, summary).
pub type Entry = (String, String, String);

/// The lessons and drills the app lists.
pub fn catalogue() -> (Vec<Entry>, Vec<Entry>) {
    (
        lessons()
            .into_iter()
            .map(|l| (l.id, l.title, l.summary))
            .collect(),
        drills()
            .into_iter()
            .map(|d| (d.id, d.title, d.briefing))
            .collect(),
    )
}

impl Teaching {
    /// A lesson at step `step` (a resumed session continues where the learner was).
    pub fn lesson(id: &str, step: u32) -> Result<(ClusterScenario, Teaching), String> {
        let lesson = find_lesson(id)?;
        let steps = lesson.steps.len() as u32;
        Ok((
            lesson.scenario.clone(),
            Teaching::Lesson {
                lesson: Box::new(lesson),
                step: step.min(steps.saturating_sub(1)),
                goal: None,
                met: false,
            },
        ))
    }

    /// A drill with its hidden fault for `seed`.
    pub fn drill(id: &str, seed: u64) -> Result<(ClusterScenario, Teaching), String> {
        let drill = find_drill(id)?;
        let fault = hidden_fault(&drill, seed);
        Ok((
            with_fault(&drill, &fault),
            Teaching::Drill {
                drill: Box::new(drill),
                fault,
                hints_used: 0,
                result: None,
            },
        ))
    }

    /// Checks the current lesson step's goal (anchoring it first, when the step is new).
    pub fn progress(&mut self, session: &Session) {
        if let Teaching::Lesson {
            lesson,
            step,
            goal,
            met,
        } = self
        {
            let Some(s) = lesson.steps.get(*step as usize) else {
                return;
            };
            let goal = goal.get_or_insert_with(|| anchor(&s.goal, session));
            if !*met {
                *met = goal_met(goal, session);
            }
        }
    }

    pub fn lesson_next(&mut self, session: &Session) -> Result<(), String> {
        let Teaching::Lesson {
            lesson,
            step,
            goal,
            met,
        } = self
        else {
            return Err("no lesson is running".into());
        };
        if !*met {
            return Err("this step's checkpoint is not reached yet".into());
        }
        if *step + 1 >= lesson.steps.len() as u32 {
            return Err("this was the lesson's last step: free play from here".into());
        }
        *step += 1;
        *met = false;
        *goal = None;
        self.progress(session);
        Ok(())
    }

    pub fn lesson_step(&self) -> u32 {
        match self {
            Teaching::Lesson { step, .. } => *step,
            _ => 0,
        }
    }

    pub fn lesson_state(&self) -> Option<LessonState> {
        let Teaching::Lesson {
            lesson,
            step,
            goal,
            met,
        } = self
        else {
            return None;
        };
        let current = lesson.steps.get(*step as usize)?;
        let last = *step + 1 >= lesson.steps.len() as u32;
        Some(LessonState {
            id: lesson.id.clone(),
            title: lesson.title.clone(),
            step: *step,
            steps: lesson.steps.len() as u32,
            step_title: current.title.clone(),
            narration: current.narration.clone(),
            action: current.action.clone(),
            action_label: current.action.as_ref().map(crate::protocol::action_label),
            goal: describe_goal(goal.as_ref().unwrap_or(&current.goal)),
            goal_met: *met,
            hint: current.hint.clone(),
            after: current.after.clone(),
            finished: last && *met,
        })
    }

    /// Whether event-log lines about faults must stay hidden (a drill not yet answered).
    pub fn hides_faults(&self) -> bool {
        matches!(self, Teaching::Drill { result: None, .. })
    }

    pub fn drill_state(&self) -> Option<DrillState> {
        let Teaching::Drill {
            drill,
            hints_used,
            result,
            ..
        } = self
        else {
            return None;
        };
        Some(DrillState {
            id: drill.id.clone(),
            title: drill.title.clone(),
            briefing: drill.briefing.clone(),
            question: drill.question.clone(),
            choices: drill
                .choices
                .iter()
                .map(|c| DrillChoice {
                    id: c.id.clone(),
                    text: c.text.clone(),
                })
                .collect(),
            hints: drill
                .hints
                .iter()
                .take(*hints_used as usize)
                .cloned()
                .collect(),
            target: drill.target.clone(),
            result: result.clone(),
        })
    }

    pub fn hint(&mut self) -> Result<(), String> {
        let Teaching::Drill {
            drill,
            hints_used,
            result,
            ..
        } = self
        else {
            return Err("hints are for drills".into());
        };
        if result.is_some() {
            return Err("the drill is answered".into());
        }
        if *hints_used as usize >= drill.hints.len() {
            return Err("no more hints".into());
        }
        *hints_used += 1;
        Ok(())
    }

    pub fn answer(&mut self, choice: &str, named: Named) -> Result<(), String> {
        let Teaching::Drill {
            drill,
            fault,
            hints_used,
            result,
        } = self
        else {
            return Err("no drill is running".into());
        };
        if result.is_some() {
            return Err("the drill is already answered".into());
        }
        if !drill.choices.iter().any(|c| c.id == choice) {
            return Err(format!("{choice:?} is not one of the answers"));
        }
        let s = score(drill, fault, choice, named, *hints_used);
        *result = Some(DrillResult {
            points: s.points,
            max: s.max,
            correct: s.correct,
            explanation: s.explanation,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use logsim::time::SimTime;

    /// The worker's lesson state machine, driven as the page drives it: the step's button (its
    /// action), play until the checkpoint (anchored when the step began), Next, to the end of
    /// every lesson.
    #[test]
    fn every_lesson_runs_to_its_end_through_the_worker_state_machine() {
        let (lessons, _) = catalogue();
        assert!(lessons.len() >= 8, "at least eight lessons");
        for (id, _, _) in lessons {
            let (scenario, mut teaching) = Teaching::lesson(&id, 0).expect("a lesson");
            let seed = lesson_seed(&id).expect("a lesson");
            let mut session = Session::new(scenario, seed).expect("valid");
            teaching.progress(&session);
            loop {
                let state = teaching.lesson_state().expect("a lesson state");
                if let Some(action) = state.action.clone() {
                    session.act(action).expect("the step's action");
                }
                // The page's clock: it moves on whether or not an event fell in the slice.
                let mut clock = session.sim().now().as_millis() as u64;
                let deadline = clock + 120_000;
                while !teaching.lesson_state().expect("state").goal_met {
                    assert!(
                        clock < deadline,
                        "{id} step {}: {} not met by {clock} ms",
                        state.step,
                        state.goal
                    );
                    clock += 250;
                    session
                        .run_until(SimTime::from_millis(clock), u32::MAX)
                        .expect("runs");
                    teaching.progress(&session);
                }
                if teaching.lesson_state().expect("state").finished {
                    break;
                }
                teaching.lesson_next(&session).expect("next step");
            }
        }
    }

    #[test]
    fn a_drill_is_scored_and_unknown_names_are_refused() {
        let (_, drills) = catalogue();
        let (id, _, _) = drills.first().cloned().expect("a drill");
        let (_, mut teaching) = Teaching::drill(&id, 5).expect("a drill");
        assert!(teaching.hides_faults());
        teaching.hint().expect("a hint");
        let wrong = teaching
            .answer("no-such-answer", Named::default())
            .err()
            .unwrap_or_default();
        assert!(wrong.contains("not one of the answers"), "{wrong}");
        let choice = teaching.drill_state().expect("state").choices[0].id.clone();
        teaching
            .answer(
                &choice,
                Named {
                    broker: Some(1),
                    consumer: None,
                },
            )
            .expect("answered");
        let result = teaching
            .drill_state()
            .and_then(|d| d.result)
            .expect("scored");
        assert!(result.points <= result.max && !result.explanation.is_empty());
        assert!(!teaching.hides_faults(), "the answer reveals the fault");
        assert!(Teaching::lesson("nope", 0).is_err() && Teaching::drill("nope", 1).is_err());
    }
}
