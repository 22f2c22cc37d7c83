//! One round of scripted sessions: every connector at once plugs in, is
//! started (by its tag or by the CSMS), meters rising energy, stops (by
//! its tag after the session time, or by the CSMS) and unplugs.

use std::time::Instant;

use super::{ConnectorReport, Happened, Sim, SimError, Station};

/// Where a connector's session is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Plugged in, waiting for the transaction (until the deadline).
    Starting { deadline: Instant },
    /// Energy flows; the meter advances at `next_tick` until `end`.
    Charging {
        last: Instant,
        next_tick: Instant,
        end: Instant,
    },
    /// The tag was presented again, waiting for the stop.
    Stopping { deadline: Instant },
    /// Unplugged.
    Done,
}

/// One connector's session.
#[derive(Debug)]
struct Charge {
    connector: u32,
    tag: String,
    phase: Phase,
    /// The register at the start, Wh.
    base: i64,
    /// Delivered so far, mWh.
    milli_wh: i64,
}

impl Charge {
    fn register(&self) -> i64 {
        self.base + self.milli_wh / 1000
    }

    /// When it next needs the clock.
    fn wake(&self) -> Option<Instant> {
        match self.phase {
            Phase::Starting { deadline } | Phase::Stopping { deadline } => Some(deadline),
            Phase::Charging { next_tick, end, .. } => Some(next_tick.min(end)),
            Phase::Done => None,
        }
    }
}

impl<S: Station> Sim<S>
where
    S::Event: Send + std::fmt::Debug,
{
    /// Session round `n` on every connector; `remote`: each started by the
    /// CSMS rather than by its tag.
    pub(super) async fn sessions(&mut self, n: u32, remote: bool) -> Result<(), SimError> {
        let id = self.id();
        let deadline = Instant::now() + self.options.step_timeout;
        let mut charges = Vec::new();
        for connector in 1..=self.options.connectors {
            let tag = self.options.tag_at(connector);
            // The report lists the connectors in order.
            self.entry(connector, &tag);
            let base = self.with(move |m, _| m.register(connector)).await?;
            let start_tag = tag.clone();
            self.with(move |m, now| {
                m.meter(now, connector, base, 0);
                m.plug(now, connector);
                if !remote {
                    m.present(now, connector, &start_tag);
                }
            })
            .await?;
            if remote {
                println!("{id}: connector {connector} plugged in, waiting for a remote start");
            }
            charges.push(Charge {
                connector,
                tag,
                phase: Phase::Starting { deadline },
                base,
                milli_wh: 0,
            });
        }
        while let Some(wake) = charges.iter().filter_map(Charge::wake).min() {
            match self.next(wake).await? {
                None => {
                    for charge in &mut charges {
                        self.on_clock(charge, n).await?;
                    }
                }
                Some(Happened::StartCharging(connector)) => {
                    if let Some(charge) = charges.iter_mut().find(|c| c.connector == connector)
                        && matches!(charge.phase, Phase::Starting { .. })
                    {
                        self.with(move |m, now| m.flowing(now, connector, true))
                            .await?;
                        let now = Instant::now();
                        charge.phase = Phase::Charging {
                            last: now,
                            next_tick: now + self.options.tick,
                            end: now + self.options.session_time,
                        };
                        println!("{id}: connector {connector}: started tx {n}");
                    }
                }
                Some(Happened::StopCharging(connector)) => {
                    if let Some(charge) = charges.iter_mut().find(|c| c.connector == connector)
                        && matches!(
                            charge.phase,
                            Phase::Charging { .. } | Phase::Stopping { .. }
                        )
                    {
                        let by_csms = matches!(charge.phase, Phase::Charging { .. });
                        self.unplug(charge, by_csms, n).await?;
                        charge.phase = Phase::Done;
                    }
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The clock reached `charge`'s wake time: a meter step, the end of
    /// the session time, or a step that did not happen in time.
    async fn on_clock(&mut self, charge: &mut Charge, n: u32) -> Result<(), SimError> {
        let now = Instant::now();
        match charge.phase {
            Phase::Starting { deadline } if now >= deadline => {
                Err(self.timeout("the transaction to start"))
            }
            Phase::Stopping { deadline } if now >= deadline => {
                Err(self.timeout("the transaction to stop"))
            }
            Phase::Charging {
                last,
                next_tick,
                end,
            } if now >= next_tick.min(end) => {
                let ms = i64::try_from(now.duration_since(last).as_millis()).unwrap_or(0);
                let power = self.options.power_w;
                charge.milli_wh += power * ms / 3600;
                let (connector, register) = (charge.connector, charge.register());
                if now >= end {
                    let tag = charge.tag.clone();
                    self.with(move |m, now| {
                        m.meter(now, connector, register, 0);
                        m.present(now, connector, &tag);
                    })
                    .await?;
                    charge.phase = Phase::Stopping {
                        deadline: now + self.options.step_timeout,
                    };
                } else {
                    self.with(move |m, now| m.meter(now, connector, register, power))
                        .await?;
                    println!(
                        "{}: connector {connector}: tx {n}: energy {} Wh",
                        self.options.id,
                        charge.milli_wh / 1000
                    );
                    charge.phase = Phase::Charging {
                        last: now,
                        next_tick: next_tick + self.options.tick,
                        end,
                    };
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The transaction of `charge` ended: the meter rests, the cable comes
    /// out, the report counts it.
    async fn unplug(&mut self, charge: &Charge, by_csms: bool, n: u32) -> Result<(), SimError> {
        let (connector, register) = (charge.connector, charge.register());
        self.with(move |m, now| {
            if by_csms {
                m.meter(now, connector, register, 0);
            }
            m.flowing(now, connector, false);
            m.unplug_cable(now, connector);
        })
        .await?;
        let delivered = charge.milli_wh / 1000;
        self.report.sessions += 1;
        self.report.energy_wh += delivered;
        let entry = self.entry(connector, &charge.tag);
        entry.sessions += 1;
        entry.energy_wh += delivered;
        println!(
            "{}: connector {connector}: stopped tx {n} after {delivered} Wh",
            self.options.id
        );
        Ok(())
    }

    /// The report entry of `connector`, made on first use.
    fn entry(&mut self, connector: u32, tag: &str) -> &mut ConnectorReport {
        let entries = &mut self.report.connectors;
        let k = match entries.iter().position(|e| e.connector == connector) {
            Some(k) => k,
            None => {
                entries.push(ConnectorReport {
                    connector,
                    tag: tag.to_owned(),
                    ..ConnectorReport::default()
                });
                entries.len() - 1
            }
        };
        &mut entries[k]
    }
}
