//! Interim lesson content (one lesson) until the full lesson set lands; replaced by the lessons module.
use crate::session::timeline::Session;
use crate::sim::cluster::scenario::{Action, ClusterScenario};
use serde::{Deserialize, Serialize};
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lesson {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub scenario: ClusterScenario,
    pub seed: u64,
    pub steps: Vec<LessonStep>,
}
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LessonStep {
    pub title: String,
    pub narration: Vec<String>,
    pub action: Option<Action>,
    pub goal: Goal,
    pub hint: String,
    pub after: Vec<String>,
}
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Goal {
    Play { until_ms: u64 },
}
pub fn lessons() -> Vec<Lesson> {
    let scenario = crate::session::library::scenario("playground").unwrap();
    vec![Lesson {
        id: "log".into(),
        title: "The log and offsets".into(),
        summary: "s".into(),
        scenario,
        seed: 1,
        steps: vec![
            LessonStep {
                title: "Press play".into(),
                narration: vec!["Press play and watch records get offsets.".into()],
                action: None,
                goal: Goal::Play { until_ms: 3000 },
                hint: "Space plays.".into(),
                after: vec!["Each record got the next offset.".into()],
            },
            LessonStep {
                title: "Crash".into(),
                narration: vec!["Crash broker 2.".into()],
                action: Some(Action::CrashBroker {
                    broker: 2,
                    power_loss: false,
                    torn_write: false,
                }),
                goal: Goal::Play { until_ms: 6000 },
                hint: "h".into(),
                after: vec!["a".into()],
            },
        ],
    }]
}
pub fn goal_met(goal: &Goal, session: &Session) -> bool {
    match goal {
        Goal::Play { until_ms } => session.sim().now().as_millis() as u64 >= *until_ms,
    }
}
pub fn describe_goal(goal: &Goal) -> String {
    match goal {
        Goal::Play { until_ms } => format!("Run until {} s", until_ms / 1000),
    }
}
