//! How many bytes a call returned: the text of every string plus a few bytes per item, so a
//! limit holds for long strings and for long lists alike.

use crate::bindings::w;

const ITEM: usize = 8;

pub(crate) trait OutputSize {
    fn output_size(&self) -> usize;
}

impl OutputSize for String {
    fn output_size(&self) -> usize {
        self.len()
    }
}

impl<T: OutputSize> OutputSize for Option<T> {
    fn output_size(&self) -> usize {
        self.as_ref().map_or(0, OutputSize::output_size)
    }
}

impl<T: OutputSize> OutputSize for Vec<T> {
    fn output_size(&self) -> usize {
        self.iter().map(|x| x.output_size() + ITEM).sum()
    }
}

impl<A: OutputSize, B: OutputSize> OutputSize for (A, B) {
    fn output_size(&self) -> usize {
        self.0.output_size() + self.1.output_size()
    }
}

impl<T: OutputSize, E: OutputSize> OutputSize for Result<T, E> {
    fn output_size(&self) -> usize {
        match self {
            Ok(v) => v.output_size(),
            Err(e) => e.output_size(),
        }
    }
}

impl OutputSize for () {
    fn output_size(&self) -> usize {
        0
    }
}

impl OutputSize for w::PluginInfo {
    fn output_size(&self) -> usize {
        self.name.len()
            + self.version.len()
            + self.contract.len()
            + self.description.len()
            + self.config_schema.output_size()
            + self.config_example.output_size()
    }
}

impl OutputSize for w::ConfigProblem {
    fn output_size(&self) -> usize {
        self.path.len() + self.message.len()
    }
}

impl OutputSize for w::PluginError {
    fn output_size(&self) -> usize {
        self.code.len() + self.message.len()
    }
}

impl OutputSize for w::JobRef {
    fn output_size(&self) -> usize {
        match self {
            w::JobRef::Created(label) => label.len(),
            w::JobRef::Live | w::JobRef::Id(_) => ITEM,
        }
    }
}

impl OutputSize for w::RunRef {
    fn output_size(&self) -> usize {
        match self {
            w::RunRef::StartedBy(id) => id.len(),
            w::RunRef::Id(_) => ITEM,
        }
    }
}

impl OutputSize for w::Action {
    fn output_size(&self) -> usize {
        use w::ActionKind as K;
        self.id.len()
            + match &self.kind {
                K::CreateJob(c) => c.label.len() + c.settings.len(),
                K::ResetJob(r) => r.job.output_size() + r.settings.len(),
                K::DeleteJob(j)
                | K::PauseSchedule(j)
                | K::UnpauseSchedule(j)
                | K::CancelActiveRuns(j)
                | K::ListActiveRuns(j) => j.output_size(),
                K::RenameJob(r) => r.job.output_size() + r.name.len(),
                K::WaitActiveRuns(w) => w.job.output_size() + ITEM,
                K::RunJob(r) => {
                    r.job.output_size()
                        + r.idempotency_token.len()
                        + r.parameters
                            .iter()
                            .map(|p| p.name.len() + p.value.len() + ITEM)
                            .sum::<usize>()
                }
                K::WaitRun(w) => w.run.output_size() + ITEM,
                K::RunHistory(h) => h.job.output_size() + ITEM,
                K::RunOutput(r) => r.output_size(),
                K::Wait(_) => ITEM,
                K::RequestApproval(m) => m.len(),
                K::SetPermissions(s) => s.job.output_size() + s.acl.len(),
                K::VerifyJob(v) => v.job.output_size() + v.settings.len(),
                K::GateCheck(g) => ITEM + g.evidence.output_size(),
            }
    }
}

impl OutputSize for w::StepResult {
    fn output_size(&self) -> usize {
        self.actions.output_size() + self.state.len() + self.message.len()
    }
}

impl OutputSize for w::Finding {
    fn output_size(&self) -> usize {
        self.code.len() + self.message.len() + self.path.output_size()
    }
}

impl OutputSize for w::Verdict {
    fn output_size(&self) -> usize {
        self.summary.len() + self.findings.output_size()
    }
}

impl OutputSize for w::Message {
    fn output_size(&self) -> usize {
        match self {
            w::Message::Http(h) => {
                h.method.len() + h.url.len() + h.headers.output_size() + h.body.output_size()
            }
            w::Message::Email(e) => {
                e.to.output_size()
                    + e.cc.output_size()
                    + e.subject.len()
                    + e.text.len()
                    + e.html.output_size()
            }
        }
    }
}
