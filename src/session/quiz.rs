//! Interim drill content (one drill) until the full drill set lands; replaced by the quiz module.
use crate::session::timeline::Session;
use crate::sim::cluster::scenario::{Action, ClusterScenario, Step};
use crate::sim::error::SimError;
use serde::{Deserialize, Serialize};
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drill {
    pub id: String,
    pub title: String,
    pub briefing: String,
    pub scenario: ClusterScenario,
    pub question: String,
    pub choices: Vec<Choice>,
    pub explanation: String,
}
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub id: String,
    pub text: String,
}
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HiddenFault {
    pub at_ms: u64,
    pub actions: Vec<Action>,
    pub answer: String,
    pub broker: Option<u32>,
}
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    pub points: u32,
    pub max: u32,
    pub correct: bool,
    pub broker_correct: Option<bool>,
    pub explanation: String,
}
pub fn drills() -> Vec<Drill> {
    let scenario = crate::session::library::scenario("playground").unwrap();
    vec![Drill {
        id: "crash".into(),
        title: "Something broke".into(),
        briefing: "b".into(),
        scenario,
        question: "What happened?".into(),
        choices: vec![
            Choice {
                id: "crash".into(),
                text: "A broker crashed".into(),
            },
            Choice {
                id: "pause".into(),
                text: "A broker paused".into(),
            },
        ],
        explanation: "e".into(),
    }]
}
pub fn hidden_fault(_drill: &Drill, seed: u64) -> HiddenFault {
    let b = (seed % 3) as u32 + 1;
    HiddenFault {
        at_ms: 5000,
        actions: vec![Action::CrashBroker {
            broker: b,
            power_loss: false,
            torn_write: false,
        }],
        answer: "crash".into(),
        broker: Some(b),
    }
}
pub fn score(_d: &Drill, f: &HiddenFault, answer: &str, broker: Option<u32>, hints: u32) -> Score {
    let c = answer == f.answer;
    let bc = f.broker.map(|b| Some(b) == broker);
    Score {
        points: (u32::from(c) * 2 + u32::from(bc == Some(true))).saturating_sub(hints),
        max: 3,
        correct: c,
        broker_correct: bc,
        explanation: "x".into(),
    }
}
pub fn drill_session(drill: &Drill, seed: u64) -> Result<(Session, HiddenFault), SimError> {
    let f = hidden_fault(drill, seed);
    let mut s = drill.scenario.clone();
    for a in &f.actions {
        s.steps.push(Step {
            at_ms: f.at_ms,
            action: a.clone(),
        });
    }
    Ok((Session::new(s, seed)?, f))
}
