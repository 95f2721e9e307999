//! What Cognito's log says of each of the job's rows, from the cursor's line
//! on, two bits a row: a job of 500,000 users costs 125 KB, never a line's
//! text.

use crate::track::results::log::RowStatus;

/// Cognito's most users in one import job: lines past it are not rows.
const MAX_ROWS: u64 = 500_000;

/// What a row's log line says, for its memberships.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Logged {
    /// No line (yet): recorded as a failure, never guessed.
    Nothing,
    /// `[SUCCEEDED]` or `[SKIPPED]`: the user exists; add its memberships.
    Exists,
    /// `[FAILED]`: no user, nothing to add (not a failure of the groups).
    Failed,
}

impl Logged {
    fn bits(self) -> u8 {
        match self {
            Logged::Nothing => 0,
            Logged::Exists => 1,
            Logged::Failed => 2,
        }
    }

    fn of_bits(bits: u8) -> Logged {
        match bits {
            1 => Logged::Exists,
            2 => Logged::Failed,
            _ => Logged::Nothing,
        }
    }
}

/// The rows' statuses from line `first` on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statuses {
    first: u64,
    bits: Vec<u8>,
    logged: u64,
}

impl Statuses {
    pub fn from_line(first: u64) -> Statuses {
        Statuses {
            first,
            bits: Vec::new(),
            logged: 0,
        }
    }

    /// Records a log line; a row logged twice keeps its first line (as
    /// `Track` does).
    pub fn set(&mut self, line: u64, status: RowStatus) {
        let Some(index) = self.index(line) else {
            return;
        };
        let logged = match status {
            RowStatus::Succeeded | RowStatus::Skipped => Logged::Exists,
            RowStatus::Failed => Logged::Failed,
        };
        let (byte, shift) = (index / 4, (index % 4) * 2);
        if self.bits.len() <= byte {
            self.bits.resize(byte + 1, 0);
        }
        if (self.bits[byte] >> shift) & 3 == 0 {
            self.bits[byte] |= logged.bits() << shift;
            self.logged += 1;
        }
    }

    pub fn get(&self, line: u64) -> Logged {
        let Some(index) = self.index(line) else {
            return Logged::Nothing;
        };
        let (byte, shift) = (index / 4, (index % 4) * 2);
        self.bits
            .get(byte)
            .map_or(Logged::Nothing, |b| Logged::of_bits((b >> shift) & 3))
    }

    fn index(&self, line: u64) -> Option<usize> {
        let index = line.checked_sub(self.first)?;
        if line > MAX_ROWS {
            return None;
        }
        usize::try_from(index).ok()
    }

    /// How many rows have a line.
    pub fn logged(&self) -> u64 {
        self.logged
    }

    /// Bytes held.
    pub fn held(&self) -> usize {
        self.bits.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_bits_a_row_from_the_cursors_line_on() {
        let mut statuses = Statuses::from_line(5);
        statuses.set(4, RowStatus::Succeeded);
        statuses.set(5, RowStatus::Succeeded);
        statuses.set(6, RowStatus::Failed);
        statuses.set(7, RowStatus::Skipped);
        statuses.set(9, RowStatus::Failed);
        // Logged twice: the first line counts.
        statuses.set(9, RowStatus::Succeeded);
        statuses.set(MAX_ROWS + 1, RowStatus::Succeeded);
        assert_eq!(statuses.get(4), Logged::Nothing);
        assert_eq!(statuses.get(5), Logged::Exists);
        assert_eq!(statuses.get(6), Logged::Failed);
        assert_eq!(statuses.get(7), Logged::Exists);
        assert_eq!(statuses.get(8), Logged::Nothing);
        assert_eq!(statuses.get(9), Logged::Failed);
        assert_eq!(statuses.get(10), Logged::Nothing);
        assert_eq!(statuses.get(MAX_ROWS + 1), Logged::Nothing);
        assert_eq!(statuses.bits.len(), 2);
        assert_eq!(statuses.logged(), 4);
    }

    #[test]
    fn a_whole_job_costs_a_quarter_byte_a_row() {
        let mut statuses = Statuses::from_line(1);
        for line in 1..=MAX_ROWS {
            statuses.set(line, RowStatus::Succeeded);
        }
        assert!(statuses.held() <= 2 * 125_000, "{}", statuses.held());
        assert_eq!(statuses.get(MAX_ROWS), Logged::Exists);
    }
}
