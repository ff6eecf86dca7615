//! The chain as a graph (agents as nodes, events as labelled edges, `chain:start` and
//! `chain:complete` as the ends): built here once, drawn by the app on Home and in the editor.
//! An agent sends its `emits`, each route's `emit` and `else`, and what `on_error` sends (an
//! agent named there is reached through the `<agent>:error` event); an edge goes to every agent
//! that triggers on an event sent.

use crate::chain::ChainDef;

pub const START: &str = "chain:start";
pub const COMPLETE: &str = "chain:complete";

/// What a node stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Start,
    Agent,
    End,
}

impl NodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Start => "start",
            NodeKind::Agent => "agent",
            NodeKind::End => "end",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    pub kind: NodeKind,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub id: String,
    pub source: String,
    pub target: String,
    /// The event the edge carries.
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// One agent as the graph sees it: its name, what it triggers on and the events it sends.
pub struct Wiring<'a> {
    pub name: &'a str,
    pub triggers: &'a [String],
    pub sends: Vec<String>,
}

/// The graph of agents wired as given.
pub fn build(agents: &[Wiring<'_>]) -> Graph {
    let mut nodes = vec![Node {
        id: START.into(),
        kind: NodeKind::Start,
        label: "start".into(),
    }];
    nodes.extend(agents.iter().map(|a| Node {
        id: a.name.into(),
        kind: NodeKind::Agent,
        label: a.name.into(),
    }));
    let mut edges = Vec::new();
    let mut ends = false;
    for a in agents {
        if a.triggers.iter().any(|t| t == START) {
            edges.push(Edge {
                id: format!("{START}->{}", a.name),
                source: START.into(),
                target: a.name.into(),
                label: START.into(),
            });
        }
        for event in &a.sends {
            if event == COMPLETE {
                ends = true;
                edges.push(Edge {
                    id: format!("{}->{COMPLETE}", a.name),
                    source: a.name.into(),
                    target: COMPLETE.into(),
                    label: COMPLETE.into(),
                });
            }
            for b in agents.iter().filter(|b| b.triggers.contains(event)) {
                edges.push(Edge {
                    id: format!("{}-{event}->{}", a.name, b.name),
                    source: a.name.into(),
                    target: b.name.into(),
                    label: event.clone(),
                });
            }
        }
    }
    if ends {
        nodes.push(Node {
            id: COMPLETE.into(),
            kind: NodeKind::End,
            label: "complete".into(),
        });
    }
    Graph { nodes, edges }
}

impl ChainDef {
    /// The chain's graph, with routes and `on_error` hand-overs drawn.
    pub fn graph(&self) -> Graph {
        let names: Vec<&str> = self.agents.iter().map(|a| a.name.as_str()).collect();
        let wiring: Vec<Wiring<'_>> = self
            .agents
            .iter()
            .map(|a| Wiring {
                name: &a.name,
                triggers: a.triggers(),
                sends: a.emitted_events(&names),
            })
            .collect();
        build(&wiring)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wiring<'a>(name: &'a str, triggers: &'a [String], sends: &[&str]) -> Wiring<'a> {
        Wiring {
            name,
            triggers,
            sends: sends.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn routes_and_on_error_are_edges_and_the_ends_are_nodes() {
        let start = vec![START.to_string()];
        let triage = vec!["triage:urgent".to_string(), "triage:error".to_string()];
        let later = vec!["triage:later".to_string()];
        let g = build(&[
            wiring(
                "triage",
                &start,
                &["triage:later", "triage:urgent", "triage:error"],
            ),
            wiring("pager", &triage, &[COMPLETE]),
            wiring("queue", &later, &[COMPLETE]),
        ]);
        let ids: Vec<&str> = g.edges.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "chain:start->triage",
                "triage-triage:later->queue",
                "triage-triage:urgent->pager",
                "triage-triage:error->pager",
                "pager->chain:complete",
                "queue->chain:complete",
            ]
        );
        assert_eq!(g.nodes.last().map(|n| n.kind), Some(NodeKind::End));
        assert_eq!(g.nodes.len(), 5);
    }
}
