//! Share links and exported files. A link carries the session's recipe (scenario source, seed,
//! the user's actions, the step reached) as JSON in the URL fragment (`#r=`, percent-encoded by
//! the page), so opening it in a fresh browser replays to the same state. The export is the
//! scenario file `logsim run` replays natively to the same trace hash. Everything read from a
//! link or a file is validated before use and reported in words; nothing becomes HTML.

use crate::protocol::{Recipe, Source};
use crate::teach;
use logsim::session::library;
use logsim::sim::cluster::scenario::ClusterScenario;

/// The fragment key of a share link.
pub const FRAGMENT_KEY: &str = "r=";
/// The longest recipe a link or a saved session may hold.
pub const RECIPE_BYTES_MAX: usize = 512 * 1024;
/// The most actions a recipe may hold.
pub const STEPS_MAX: usize = 10_000;

/// The recipe as the JSON a link carries.
pub fn encode(recipe: &Recipe) -> String {
    serde_json::to_string(recipe).unwrap_or_default()
}

/// Reads and checks a recipe from a link or a saved session.
pub fn decode(text: &str) -> Result<Recipe, String> {
    if text.len() > RECIPE_BYTES_MAX {
        return Err(format!(
            "the link holds {} bytes; at most {RECIPE_BYTES_MAX} are accepted",
            text.len()
        ));
    }
    let recipe: Recipe =
        serde_json::from_str(text).map_err(|e| format!("the link is not a logsim session: {e}"))?;
    if recipe.steps.len() > STEPS_MAX {
        return Err(format!(
            "the link holds {} actions; at most {STEPS_MAX} are accepted",
            recipe.steps.len()
        ));
    }
    let mut scenario = scenario_of(&recipe)?;
    scenario.steps.extend(recipe.steps.iter().cloned());
    scenario
        .validate()
        .map_err(|e| format!("the link's actions do not fit its scenario: {e}"))?;
    Ok(recipe)
}

/// The scenario a recipe starts from (without the user's actions).
pub fn scenario_of(recipe: &Recipe) -> Result<ClusterScenario, String> {
    match &recipe.source {
        Source::Library(name) => library::scenario(name),
        Source::Inline(scenario) => {
            scenario.validate()?;
            Ok((**scenario).clone())
        }
        Source::Lesson(id) => teach::lesson_scenario(id),
        Source::Drill(id) => teach::drill_scenario(id, recipe.seed),
    }
}

/// The scenario file that replays the recipe natively: its scenario, the user's actions, and
/// the seed.
pub fn export(recipe: &Recipe) -> Result<String, String> {
    let mut scenario = scenario_of(recipe)?;
    scenario.steps.extend(recipe.steps.iter().cloned());
    scenario.seed = Some(recipe.seed);
    serde_json::to_string_pretty(&scenario).map_err(|e| e.to_string())
}

/// An imported scenario file as a recipe at step 0.
pub fn import(text: &str) -> Result<Recipe, String> {
    if text.len() > RECIPE_BYTES_MAX {
        return Err(format!(
            "the file has {} bytes; a scenario file may have at most {RECIPE_BYTES_MAX}",
            text.len()
        ));
    }
    let scenario = library::parse(text)?;
    let seed = scenario.seed.unwrap_or(1);
    Ok(Recipe::new(Source::Inline(Box::new(scenario)), seed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use logsim::session::timeline::Session;
    use logsim::sim::cluster::scenario::Action;
    use logsim::sim::cluster::ClusterSim;
    use logsim::time::SimTime;

    fn recipe() -> Recipe {
        Recipe::playground()
    }

    #[test]
    fn a_link_round_trips_and_replays_to_the_same_state() {
        let mut r = recipe();
        let scenario = scenario_of(&r).expect("built in");
        let mut session = Session::new(scenario.clone(), r.seed).expect("valid");
        session
            .run_until(SimTime::from_millis(3_000), u32::MAX)
            .expect("runs");
        session
            .act(Action::CrashBroker {
                broker: 2,
                power_loss: false,
                torn_write: false,
            })
            .expect("acts");
        session
            .run_until(SimTime::from_millis(5_000), u32::MAX)
            .expect("runs");
        r.steps = session.user_steps().to_vec();
        r.at_step = session.sim().steps();
        let decoded = decode(&encode(&r)).expect("decodes");
        assert_eq!(decoded, r);
        let resumed =
            Session::resume(scenario, decoded.seed, decoded.steps, decoded.at_step).expect("ok");
        assert_eq!(resumed.view(), session.view());
    }

    #[test]
    fn the_export_replays_natively_to_the_sessions_final_hash() {
        let mut r = recipe();
        let mut scenario = scenario_of(&r).expect("built in");
        scenario.duration_ms = 8_000;
        r.source = Source::Inline(Box::new(scenario.clone()));
        let mut session = Session::new(scenario, r.seed).expect("valid");
        session
            .run_until(SimTime::from_millis(2_000), u32::MAX)
            .expect("runs");
        session
            .act(Action::PauseBroker { broker: 1 })
            .expect("acts");
        while session.step().expect("runs") {}
        r.steps = session.user_steps().to_vec();
        let text = export(&r).expect("exports");
        let file = library::parse(&text).expect("a valid scenario file");
        let mut native = ClusterSim::new(file.clone(), file.seed.expect("seeded")).expect("ok");
        native.run_to_end().expect("runs");
        assert_eq!(native.trace_hash(), session.sim().trace_hash());
    }

    #[test]
    fn bad_links_and_files_get_clear_errors() {
        let cases = [
            ("{", "not a logsim session"),
            ("{\"source\":{\"library\":\"nope\"},\"seed\":1}", "no built-in scenario"),
            (
                "{\"source\":{\"library\":\"playground\"},\"seed\":1,\"steps\":[{\"at_ms\":5,\"action\":{\"restart_broker\":{\"broker\":99}}}]}",
                "do not fit",
            ),
            ("{\"source\":{\"library\":\"playground\"},\"seed\":-1}", "not a logsim session"),
        ];
        for (text, want) in cases {
            let err = decode(text).err().unwrap_or_default();
            assert!(err.contains(want), "{text}: {err}");
        }
        let err = import("<script>alert(1)</script>")
            .err()
            .unwrap_or_default();
        assert!(err.contains("not a valid scenario file"), "{err}");
        let big = "x".repeat(RECIPE_BYTES_MAX + 1);
        assert!(decode(&big).is_err() && import(&big).is_err());
    }
}
